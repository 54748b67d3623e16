/* Tongdao console: a Server-Sent Events parser and a resuming stream reader.
 *
 * EventSource cannot send an Authorization header, so the console reads
 * GET /api/v1/events with fetch() and parses the frames itself, following
 * the WHATWG "event stream interpretation" rules: lines end in CRLF, LF or
 * CR; a blank line dispatches; "id", "event", "data" and "retry" fields; lines
 * starting with ":" are comments (heartbeats); one leading space after the
 * colon is dropped.
 */
(function (root) {
  'use strict';

  /** SSEParser turns chunks of text into events {id, type, data}. */
  function SSEParser(onEvent) {
    this.onEvent = onEvent;
    this.buf = '';
    this.pendingCR = false;
    this.reset();
    this.lastEventId = '';
    this.retry = null;
  }

  SSEParser.prototype.reset = function () {
    this.data = [];
    this.type = '';
    this.hasData = false;
  };

  /** push feeds decoded text; complete lines are processed at once. */
  SSEParser.prototype.push = function (text) {
    var s = this.buf + text;
    var start = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c === 10 && this.pendingCR) { // LF right after CR: same line end
        this.pendingCR = false;
        start = i + 1;
        continue;
      }
      this.pendingCR = false;
      if (c === 10 || c === 13) {
        this.line(s.slice(start, i));
        start = i + 1;
        this.pendingCR = c === 13;
      }
    }
    this.buf = s.slice(start);
  };

  SSEParser.prototype.line = function (line) {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment
    var colon = line.indexOf(':');
    var field = colon < 0 ? line : line.slice(0, colon);
    var value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.type = value;
        break;
      case 'id':
        if (value.indexOf('\u0000') < 0) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = parseInt(value, 10);
        break;
      default: // unknown fields are ignored
    }
  };

  SSEParser.prototype.dispatch = function () {
    if (this.hasData) {
      this.onEvent({ id: this.lastEventId, type: this.type || 'message', data: this.data.join('\n') });
    }
    this.reset();
  };

  /**
   * EventStream reads url with fetch and calls handlers.onEvent for each
   * event. After a drop it waits (exponential backoff with jitter, 1 s to
   * 30 s) and reconnects with Last-Event-ID, so no event is missed.
   *
   * opts: {url, headers() -> object, onEvent(ev), onState(state, info),
   *        onAuthError(err), fetch, setTimeout, clearTimeout, random}
   * States: "connecting", "open", "waiting" (info: {delay, error}), "closed".
   */
  function EventStream(opts) {
    this.opts = opts;
    this.lastEventId = '';
    this.attempt = 0;
    this.controller = null;
    this.timer = null;
    this.closed = false;
    this.fetch = opts.fetch || root.fetch.bind(root);
    this.setTimeout = opts.setTimeout || root.setTimeout.bind(root);
    this.clearTimeout = opts.clearTimeout || root.clearTimeout.bind(root);
    this.random = opts.random || Math.random;
    this.retryBase = 1000;
  }

  EventStream.MAX_DELAY = 30000;

  EventStream.prototype.start = function () {
    this.closed = false;
    this.connect();
  };

  EventStream.prototype.close = function () {
    this.closed = true;
    if (this.timer !== null) this.clearTimeout(this.timer);
    this.timer = null;
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.state('closed');
  };

  EventStream.prototype.state = function (s, info) {
    if (this.opts.onState) this.opts.onState(s, info || {});
  };

  /** delay is the wait before reconnect attempt n (1-based). */
  EventStream.prototype.delay = function (n) {
    var base = Math.min(EventStream.MAX_DELAY, this.retryBase * Math.pow(2, Math.min(n - 1, 10)));
    return Math.round(base / 2 + this.random() * base / 2);
  };

  EventStream.prototype.connect = function () {
    var self = this;
    if (self.closed) return;
    self.timer = null;
    var controller = new AbortController();
    self.controller = controller;
    var headers = Object.assign({ Accept: 'text/event-stream' }, self.opts.headers ? self.opts.headers() : {});
    if (self.lastEventId !== '') headers['Last-Event-ID'] = self.lastEventId;
    self.state('connecting');
    var parser = new SSEParser(function (ev) {
      self.lastEventId = ev.id;
      self.opts.onEvent(ev);
    });
    parser.lastEventId = self.lastEventId;

    self.fetch(self.opts.url, { headers: headers, signal: controller.signal, cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) {
          return readError(res).then(function (err) { throw err; });
        }
        var ctype = res.headers.get('Content-Type') || '';
        if (ctype.indexOf('text/event-stream') !== 0) {
          throw new Error('unexpected response type ' + ctype);
        }
        self.state('open', { resumed: self.lastEventId !== '' });
        var reader = res.body.getReader();
        var decoder = new TextDecoder('utf-8');
        var received = false;
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) {
              parser.push(decoder.decode());
              return;
            }
            if (!received) {
              received = true;
              self.attempt = 0; // the connection works: start backoff afresh
            }
            parser.push(decoder.decode(r.value, { stream: true }));
            if (parser.retry !== null) self.retryBase = Math.max(250, parser.retry);
            return pump();
          });
        }
        return pump().then(function () { throw new Error('the event stream ended'); });
      })
      .catch(function (err) {
        if (self.closed || controller.signal.aborted) return;
        if (err && err.status === 401) {
          self.closed = true;
          self.state('closed');
          if (self.opts.onAuthError) self.opts.onAuthError(err);
          return;
        }
        self.attempt++;
        var wait = self.delay(self.attempt);
        self.state('waiting', { delay: wait, error: err });
        self.timer = self.setTimeout(function () { self.connect(); }, wait);
      });
  };

  /** readError turns a non-2xx API response into an Error with code and status. */
  function readError(res) {
    return res.text().then(function (text) {
      var code = 'http_' + res.status;
      var message = res.statusText || 'request failed';
      try {
        var body = JSON.parse(text);
        if (body && body.error) {
          code = body.error.code || code;
          message = body.error.message || message;
        }
      } catch (e) { /* not JSON: keep the status line */ }
      var err = new Error(message);
      err.code = code;
      err.status = res.status;
      return err;
    }, function () {
      var err = new Error(res.statusText || 'request failed');
      err.code = 'http_' + res.status;
      err.status = res.status;
      return err;
    });
  }

  var api = { SSEParser: SSEParser, EventStream: EventStream, readError: readError };
  if (typeof module === 'object' && module.exports) {
    module.exports = api;
  } else {
    root.TongdaoSSE = api;
  }
})(typeof self !== 'undefined' ? self : globalThis);
