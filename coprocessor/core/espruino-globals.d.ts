// Built-ins the Espruino interpreter has (shared/espruino-profile.md) beyond the ES5 lib that
// tsconfig.portable.json restricts the core to. Nothing is declared here that the board lacks.
interface String {
  padStart(maxLength: number, fillString?: string): string;
}
interface ObjectConstructor {
  assign<T extends object, U>(target: T, source: U): T & U;
}
declare function setTimeout(callback: () => void, ms: number): unknown;
declare function clearTimeout(handle: unknown): void;
