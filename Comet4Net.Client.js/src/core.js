  // The namespace, type checks, DOM events and the observable every part of the client is built on.
  var JS = window.JS = window.JS || {};
  JS.version = '2.0.0';

  function isString(v) { return typeof v === 'string'; }
  function isFunction(v) { return typeof v === 'function'; }
  function isObject(v) { return !!v && Object.prototype.toString.call(v) === '[object Object]'; }
  JS.isString = isString; JS.isFunction = isFunction; JS.isObject = isObject;
  JS.isArray = function (v) { return Object.prototype.toString.call(v) === '[object Array]'; };
  JS.apply = function (o, c) { for (var k in c) if (Object.prototype.hasOwnProperty.call(c, k)) o[k] = c[k]; return o; };

  /** JS.on(element, event, fn, scope) / JS.un: DOM events, as Comet4J pages use them. */
  JS.on = function (el, name, fn, scope) {
    var h = function (e) { return fn.call(scope || el, e); };
    (fn._c4j || (fn._c4j = [])).push([el, name, h]);
    el.addEventListener(name, h, false);
  };
  JS.un = function (el, name, fn) {
    var list = fn._c4j || [];
    for (var i = list.length - 1; i >= 0; i--) {
      if (list[i][0] === el && list[i][1] === name) { el.removeEventListener(name, list[i][2], false); list.splice(i, 1); }
    }
  };

  /** An observable: on/addListener, un/removeListener, fireEvent; event names are case-insensitive. */
  function Observable() { this.events = {}; }
  Observable.prototype = {
    on: function (name, fn, scope, o) {
      if (isObject(name)) { for (var k in name) if (isFunction(name[k])) this.addListener(k, name[k], fn, scope); return; }
      this.addListener(name, fn, scope, o);
    },
    addListener: function (name, fn, scope, o) {
      var key = String(name).toLowerCase(), list = this.events[key] || (this.events[key] = []);
      for (var i = 0; i < list.length; i++) if (list[i].fn === fn) return false;
      list.push({ fn: fn, scope: scope, o: o });
      return true;
    },
    removeListener: function (name, fn) {
      var key = String(name).toLowerCase(), list = this.events[key] || [];
      for (var i = 0; i < list.length; i++) if (list[i].fn === fn) { list.splice(i, 1); return true; }
      return false;
    },
    hasListener: function (name) { var l = this.events[String(name).toLowerCase()]; return !!(l && l.length); },
    clearListeners: function () { this.events = {}; },
    /** Calls every listener; a listener returning false makes the result false; one that throws does not stop the others. */
    fireEvent: function (name) {
      var list = (this.events[String(name).toLowerCase()] || []).slice(), args = [].slice.call(arguments, 1), ok = true;
      for (var i = 0; i < list.length; i++) {
        try { if (list[i].fn.apply(list[i].scope || this, args) === false) ok = false; }
        catch (e) { if (window.console) console.error('Comet4Net listener for "' + name + '" failed:', e); }
      }
      return ok;
    }
  };
  Observable.prototype.un = Observable.prototype.removeListener;
  JS.Observable = Observable;
