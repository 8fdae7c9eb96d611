// Helpers TypeScript's ES5 output calls (built with --noEmitHelpers), written for the Espruino
// interpreter: no X.prototype.builtin access, no Object.setPrototypeOf, nothing used before it is
// defined. The build prepends only the ones the bundle names.
//@@ __extends
var __extends = function (d, b) {
  for (var p in b) if (b.hasOwnProperty(p)) d[p] = b[p];
  var P = function () { this.constructor = d; };
  P.prototype = b.prototype;
  d.prototype = new P();
};
//@@ __assign
var __assign = function (t) {
  for (var i = 1; i < arguments.length; i++) {
    var s = arguments[i];
    for (var p in s) if (s.hasOwnProperty(p)) t[p] = s[p];
  }
  return t;
};
//@@ __spreadArray
var __spreadArray = function (to, from) {
  for (var i = 0; i < from.length; i++) to.push(from[i]);
  return to;
};
//@@ __rest
var __rest = function (s, e) {
  var t = {};
  for (var p in s) if (s.hasOwnProperty(p) && e.indexOf(p) < 0) t[p] = s[p];
  return t;
};
//@@ !Uint8Array#slice
// The board's Uint8Array#slice returns a plain Array (2v29), so code that slices bytes and then
// calls subarray/set on the result, or tests instanceof Uint8Array, breaks there. Assigning the
// method on the prototype overrides the built-in (checked on the interpreter).
Uint8Array.prototype.slice = function (a, b) {
  var s = this.subarray(a, b);
  var o = new Uint8Array(s.length);
  o.set(s);
  return o;
};
