// Static half of the board guard: parse the firmware and reject what the Espruino interpreter
// cannot run (shared/espruino-profile.md): syntax it rejects or silently misreads, globals and
// statics it lacks, `X.prototype.builtin` (undefined there), and names used before their
// declaration in the same scope (it hoists neither functions nor vars). The vm half
// (board-sandbox.ts) catches the rest at run time.
import ts from 'typescript';
import { ABSENT_GLOBALS, ABSENT_STATICS } from './board-sandbox.js';

export interface Problem {
  line: number;
  column: number;
  rule: string;
  text: string;
}

/** Globals the 2v29 interpreter has (probed), plus the board devices the runner may name. */
export const BOARD_GLOBALS = [
  'Object', 'Array', 'String', 'Number', 'Boolean', 'Function', 'Math', 'JSON', 'Date', 'RegExp', 'Error', 'TypeError',
  'SyntaxError', 'ReferenceError', 'InternalError', 'Promise', 'ArrayBuffer', 'DataView', 'Uint8Array', 'Int8Array',
  'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array',
  'isNaN', 'isFinite', 'parseInt', 'parseFloat', 'encodeURIComponent', 'decodeURIComponent', 'eval', 'setTimeout',
  'clearTimeout', 'setInterval', 'clearInterval', 'getTime', 'console', 'print', 'btoa', 'atob', 'E', 'require',
  'process', 'global', 'globalThis', 'Serial1', 'Serial2', 'Serial3', 'USB', 'Bluetooth', 'NRF', 'LoopbackA',
  'LoopbackB', 'Infinity', 'NaN', 'undefined', 'arguments', 'Modules', 'load', 'reset',
];

/** Builtins whose prototype methods cannot be reached as `X.prototype.m` on the board. */
const PROTO_UNREACHABLE = ['Array', 'Function', 'String', 'Number', 'Boolean', 'Promise', 'ArrayBuffer', 'DataView', 'RegExp', 'Date', 'Error', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Float32Array', 'Float64Array'];

/** Member names that are absent (or throw) on every board receiver that has them elsewhere. */
const ABSENT_MEMBER_NAMES = ['codePointAt', 'localeCompare', 'matchAll', 'normalize', 'trimStart', 'trimEnd', 'copyWithin', 'flat', 'flatMap', 'findLast', 'findLastIndex', 'reduceRight', 'toPrecision', 'toExponential', 'replaceAll', 'finally', 'allSettled', 'getBigUint64', 'setBigUint64', 'getBigInt64', 'setBigInt64', 'getOwnPropertyDescriptors'];

type Scope = { node: ts.Node; decls: { [name: string]: number }; parent: Scope | null };

function isFunctionLike(n: ts.Node): n is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) ||
    ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n)
  );
}

/** Is this identifier a reference to a variable (not a property name, label or declaration)? */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isGetAccessorDeclaration(p) || ts.isSetAccessorDeclaration(p) || ts.isPropertyDeclaration(p)) && p.name === id) return false;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isClassDeclaration(p) || ts.isClassExpression(p) || ts.isBindingElement(p)) && p.name === id) return false;
  if ((ts.isLabeledStatement(p) || ts.isBreakStatement(p) || ts.isContinueStatement(p)) && p.label === id) return false;
  if (ts.isCatchClause(p.parent) && ts.isVariableDeclaration(p)) return false;
  return true;
}

export function checkBundle(code: string, fileName = 'bundle.js'): Problem[] {
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const problems: Problem[] = [];
  const absentGlobals = new Set(ABSENT_GLOBALS);
  const boardGlobals = new Set(BOARD_GLOBALS);

  function report(n: ts.Node, rule: string, text: string): void {
    const pos = sf.getLineAndCharacterOfPosition(n.getStart(sf));
    problems.push({ line: pos.line + 1, column: pos.character + 1, rule, text });
  }
  for (const d of (sf as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics ?? []) {
    const pos = sf.getLineAndCharacterOfPosition(d.start ?? 0);
    problems.push({ line: pos.line + 1, column: pos.character + 1, rule: 'parse', text: ts.flattenDiagnosticMessageText(d.messageText, ' ') });
  }

  // Pass 1: scopes and their declarations (function scoping, as ES5 and the board have it).
  const scopeOf = new Map<ts.Node, Scope>();
  const root: Scope = { node: sf, decls: {}, parent: null };
  scopeOf.set(sf, root);
  function declare(scope: Scope, name: ts.Node, at: number): void {
    if (ts.isIdentifier(name) && scope.decls[name.text] === undefined) scope.decls[name.text] = at;
  }
  function collect(n: ts.Node, scope: Scope): void {
    if (isFunctionLike(n)) {
      if (ts.isFunctionDeclaration(n) && n.name) declare(scope, n.name, n.getStart(sf));
      const inner: Scope = { node: n, decls: {}, parent: scope };
      scopeOf.set(n, inner);
      if (ts.isFunctionExpression(n) && n.name) declare(inner, n.name, -1);
      inner.decls['arguments'] = -1;
      for (const p of n.parameters) declare(inner, p.name, -1);
      if (n.body) ts.forEachChild(n.body, (c) => collect(c, inner));
      return;
    }
    if (ts.isVariableDeclaration(n)) declare(scope, n.name, ts.isCatchClause(n.parent) ? -1 : n.getStart(sf));
    if ((ts.isClassDeclaration(n) || ts.isClassExpression(n)) && n.name) declare(scope, n.name, n.getStart(sf));
    ts.forEachChild(n, (c) => collect(c, scope));
  }
  ts.forEachChild(sf, (c) => collect(c, root));

  function resolveName(name: string, scope: Scope | null): Scope | null {
    for (let s = scope; s; s = s.parent) if (s.decls[name] !== undefined) return s;
    return null;
  }

  // Pass 2: syntax, globals, members, use before declaration.
  function visit(n: ts.Node, scope: Scope): void {
    if (isFunctionLike(n)) {
      if (n.asteriskToken) report(n, 'generator', 'generators (function*) do not exist on the board');
      if (n.modifiers && n.modifiers.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) report(n, 'async', 'async functions do not exist on the board');
      for (const p of n.parameters) {
        if (p.dotDotDotToken) report(p, 'rest', 'rest parameters do not parse on the board');
        if (p.initializer) report(p, 'default-param', 'default parameters do not parse on the board');
      }
      if (ts.isFunctionDeclaration(n) && !ts.isSourceFile(n.parent) && !(ts.isBlock(n.parent) && isFunctionLike(n.parent.parent))) {
        report(n, 'block-function', 'function declared inside a block: the board does not hoist it');
      }
      scope = scopeOf.get(n) ?? scope;
    }
    switch (n.kind) {
      case ts.SyntaxKind.ObjectBindingPattern:
      case ts.SyntaxKind.ArrayBindingPattern:
        report(n, 'destructuring', 'destructuring is silently wrong on the board (names stay undefined)');
        break;
      case ts.SyntaxKind.SpreadElement:
      case ts.SyntaxKind.SpreadAssignment:
        report(n, 'spread', 'spread does not parse on the board');
        break;
      case ts.SyntaxKind.ComputedPropertyName:
        report(n, 'computed-key', 'computed keys in literals do not parse on the board');
        break;
      case ts.SyntaxKind.LabeledStatement:
        report(n, 'label', 'labelled statements do not exist on the board');
        break;
      case ts.SyntaxKind.AwaitExpression:
        report(n, 'async', 'await does not exist on the board');
        break;
      case ts.SyntaxKind.YieldExpression:
        report(n, 'generator', 'yield does not exist on the board');
        break;
      case ts.SyntaxKind.TaggedTemplateExpression:
        report(n, 'tagged-template', 'the board ignores template tags');
        break;
      case ts.SyntaxKind.BigIntLiteral:
        report(n, 'bigint', 'BigInt literals do not exist on the board');
        break;
      case ts.SyntaxKind.WithStatement:
        report(n, 'with', '`with` does not exist on the board');
        break;
      case ts.SyntaxKind.PrivateIdentifier:
        report(n, 'private-field', '#private fields need WeakMap, absent on the board');
        break;
      case ts.SyntaxKind.MetaProperty:
        report(n, 'meta-property', 'new.target / import.meta do not exist on the board');
        break;
      case ts.SyntaxKind.ImportDeclaration:
      case ts.SyntaxKind.ExportDeclaration:
      case ts.SyntaxKind.ExportAssignment:
        report(n, 'module', 'ES module syntax does not exist on the board');
        break;
      case ts.SyntaxKind.RegularExpressionLiteral: {
        const flags = n.getText(sf).slice(n.getText(sf).lastIndexOf('/') + 1);
        if (/[^gim]/.test(flags)) report(n, 'regexp-flag', `regular expression flags "${flags}": the board knows g, i, m`);
        break;
      }
    }
    if (ts.isBinaryExpression(n)) {
      const op = n.operatorToken.kind;
      if (op === ts.SyntaxKind.AsteriskAsteriskToken || op === ts.SyntaxKind.AsteriskAsteriskEqualsToken) report(n, 'exponent', '** does not parse on the board: Math.pow');
      if (op === ts.SyntaxKind.EqualsToken && (ts.isArrayLiteralExpression(n.left) || ts.isObjectLiteralExpression(n.left))) report(n, 'destructuring', 'destructuring assignment is silently wrong on the board');
      if (op === ts.SyntaxKind.QuestionQuestionEqualsToken || op === ts.SyntaxKind.BarBarEqualsToken || op === ts.SyntaxKind.AmpersandAmpersandEqualsToken) report(n, 'logical-assign', 'logical assignment operators are not in the board profile');
    }
    if ((ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n) || ts.isCallExpression(n)) && n.questionDotToken) {
      report(n, 'optional-chaining', '?. does not parse on the board');
    }
    if ((ts.isClassDeclaration(n) || ts.isClassExpression(n)) && n.heritageClauses) {
      for (const h of n.heritageClauses) for (const t of h.types) if (t.expression.getText(sf) === 'Error') report(n, 'extends-error', '`class extends Error` throws at super() on the board');
    }
    if (ts.isPropertyAccessExpression(n)) {
      const obj = n.expression;
      const name = n.name.text;
      if (ts.isIdentifier(obj) && ABSENT_STATICS[obj.text] && ABSENT_STATICS[obj.text].indexOf(name) >= 0 && !resolveName(obj.text, scope)) {
        report(n, 'absent-static', `${obj.text}.${name} does not exist on the board`);
      }
      const assigned = ts.isBinaryExpression(n.parent) && n.parent.left === n && n.parent.operatorToken.kind === ts.SyntaxKind.EqualsToken;
      // Reading X.prototype.m gives undefined on the board; assigning it overrides the built-in, which works.
      if (!assigned && ts.isPropertyAccessExpression(obj) && obj.name.text === 'prototype' && ts.isIdentifier(obj.expression) && PROTO_UNREACHABLE.indexOf(obj.expression.text) >= 0 && !resolveName(obj.expression.text, scope)) {
        report(n, 'builtin-prototype', `${obj.expression.text}.prototype.${name} is undefined on the board: call it on an instance ([].${name}.call)`);
      }
      if (ABSENT_MEMBER_NAMES.indexOf(name) >= 0) report(n, 'absent-method', `.${name} does not exist on the board`);
    }
    if (ts.isIdentifier(n) && isReference(n)) {
      const name = n.text;
      const owner = resolveName(name, scope);
      if (!owner) {
        if (absentGlobals.has(name)) report(n, 'absent-global', `${name} does not exist on the board`);
        else if (!boardGlobals.has(name)) report(n, 'unknown-global', `${name} is not a global on the board (missing helper or import?)`);
      } else if (!ts.isFunctionLike(n.parent) || (n.parent as ts.FunctionLikeDeclaration).name !== n) {
        const at = owner.decls[name];
        // A reference reached before its declaration runs, in the same function: the board has no hoisting.
        if (at > n.getStart(sf) && owner === scope) report(n, 'use-before-declaration', `${name} is used before its declaration (the board hoists neither functions nor vars)`);
      }
    }
    ts.forEachChild(n, (c) => visit(c, scope));
  }
  ts.forEachChild(sf, (c) => visit(c, root));
  return problems;
}

export function formatProblems(problems: Problem[], fileName: string): string {
  return problems.map((p) => `${fileName}:${p.line}:${p.column}: ${p.rule}: ${p.text}`).join('\n');
}
