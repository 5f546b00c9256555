// The talker page on the Comet4Net client. The same HTTP interface as Comet4J's demo:
// channel "talker", POST talk.do?cmd=talk|rename|list, the userName cookie.
(function () {
  var users = {};   // id -> name
  var arrived = null; // while the member list is on its way: the changes that came meanwhile, newer than it may be
  var $ = function (id) { return document.getElementById(id); };

  function getCookie(name) {
    var m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : '';
  }
  function setCookie(name, value) {
    document.cookie = name + '=' + encodeURIComponent(value) + '; path=/; max-age=' + 365 * 86400;
  }
  function line(html, cls) {
    var log = $('log');
    var div = document.createElement('div');
    div.className = cls;
    div.innerHTML = html;
    log.appendChild(div);
    while (log.childNodes.length > 200) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
  }
  function esc(s) {
    var d = document.createElement('div');
    d.textContent = s == null ? '' : String(s);
    return d.innerHTML;
  }
  function renderUsers() {
    var ul = $('users'), me = JS.Engine.getId(), ids = Object.keys(users);
    ul.innerHTML = '';
    ids.sort(function (a, b) { return (users[a] || '').localeCompare(users[b] || ''); });
    ids.forEach(function (id) {
      var li = document.createElement('li');
      li.textContent = users[id] || id;
      li.setAttribute('data-id', id);
      if (id === me) li.className = 'me';
      ul.appendChild(li);
    });
    $('userCount').textContent = '(' + ids.length + ')';
  }
  function loadUsers() {
    var meanwhile = arrived = [];
    JS.AJAX.post('talk.do?cmd=list', '', function (xhr) {
      if (arrived === meanwhile) arrived = null;
      if (xhr.status !== 200) return;
      users = {};
      JSON.parse(xhr.responseText).forEach(function (u) { users[u.id] = u.name; });
      // A join or leave can overtake the list on the way: apply again, in order, what came meanwhile.
      meanwhile.forEach(function (change) { change(); });
      renderUsers();
      $('users').setAttribute('data-listed', (+$('users').getAttribute('data-listed') || 0) + 1);
    });
  }
  // Changes the member list now, and again on top of a list that is still on its way.
  function change(f) {
    if (arrived) arrived.push(f);
    f();
    renderUsers();
  }

  var handlers = {
    up: function (d) { change(function () { users[d.id] = d.name; }); line('<span class="time">' + esc(d.transtime) + '</span> ' + esc(d.name || d.id) + ' joined', 'sys'); },
    down: function (d) { change(function () { delete users[d.id]; }); line('<span class="time">' + esc(d.transtime) + '</span> ' + esc(d.name || d.id) + ' left', 'sys'); },
    rename: function (d) { change(function () { if (d.id in users) users[d.id] = d.newName; }); line('<span class="time">' + esc(d.transtime) + '</span> ' + esc(d.oldName) + ' is now ' + esc(d.newName), 'sys'); },
    talk: function (d, old) { line('<span class="time">' + esc(d.transtime) + '</span><span class="who">' + esc(d.name) + '</span><span class="text">' + esc(d.text) + '</span>', old ? 'msg history' : 'msg'); },
    msg: function (d) {
      line('<span class="time">' + esc(d.transtime) + '</span><span class="who">' + esc(d.name) + ' → ' + esc(d.to) + '</span><span class="text">' + esc(d.text) + '</span>', 'msg private');
    },
    health: function (d) {
      if (d.connectorCount != null) $('connectorCount').textContent = d.connectorCount; // the cluster's: the same from every node
      $('usedMemory').textContent = d.usedMemory + ' MB';
      $('freeMemory').textContent = d.freeMemory + ' MB';
      $('totalMemory').textContent = d.totalMemory + ' MB';
      $('maxMemory').textContent = d.maxMemory + ' MB';
      $('startup').textContent = d.startup;
    }
  };

  var STYLES = { lpool: 'long polling', stream: 'streaming', sse: 'server-sent events', websocket: 'websocket' };
  function showStyle() { $('workStyle').textContent = STYLES[JS.Engine.getConnector().workStyle] || 'streaming'; }
  JS.Engine.getConnector().on('revival', showStyle); // a style can change on the way (a fallback)

  JS.Engine.on({
    start: function (cId, channels, engine) {
      showStyle();
      $('status').textContent = '';
      loadUsers();
    },
    stop: function (cause) {
      $('workStyle').textContent = 'stopped';
      $('status').textContent = cause ? 'disconnected: ' + cause : 'disconnected';
    },
    gap: function () { line('some messages were missed while you were away', 'sys'); },
    'talker.health': function (data) { handlers.health(data); },
    // Presence: who comes and goes, straight from the server's subscription events.
    'talker.join': function (d) { if (d.user) change(function () { users[d.cId] = d.user; }); },
    'talker.leave': function (d) { change(function () { delete users[d.cId]; }); },
    'talker.typing': function (d) {
      if (!d || d.id === JS.Engine.getId()) return;
      $('typing').textContent = (d.name || 'someone') + ' is typing…';
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { $('typing').textContent = ''; }, 3000);
    }
  });
  var typingTimer, lastTyping = 0;
  // A newcomer gets the last 20 messages of the room first (marked as history), then live ones.
  JS.Engine.on('talker', function (data, time, engine, frame) {
    var h = data && handlers[data.type];
    if (!h) return;
    if (frame && frame.history) { if (data.type === 'talk' || data.type === 'rename') h(data, true); return; }
    h(data);
  }, null, { history: 20 });

  function enter() {
    $('login').hidden = true;
    $('room').hidden = false;
    $('toolbar').hidden = false;
    JS.Engine.start('conn');
    $('input').focus();
  }
  function login() {
    var name = $('loginName').value.trim();
    if (!name) { $('loginName').focus(); return; }
    setCookie('userName', name);
    enter();
  }
  // talk.do acts in the name of this page's connection: its id, and its secret to prove the page holds it.
  function me() {
    var connector = JS.Engine.getConnector();
    return 'id=' + encodeURIComponent(JS.Engine.getId()) + '&cs=' + encodeURIComponent(connector.cs || '');
  }
  function send() {
    var input = $('input'), text = input.value.trim();
    if (!text || !JS.Engine.running || !JS.Engine.getId()) return;
    var m = /^\/msg\s+(\S+)\s+([\s\S]+)$/.exec(text);
    if (m) {
      JS.AJAX.post('talk.do?cmd=msg', me() + '&to=' + encodeURIComponent(m[1]) + '&text=' + encodeURIComponent(m[2]), function (xhr) {
        if (xhr.status === 200) { input.value = ''; $('status').textContent = ''; }
        else $('status').textContent = (JSON.parse(xhr.responseText || '{}').message) || ('not sent (' + xhr.status + ')');
      });
      return;
    }
    JS.AJAX.post('talk.do?cmd=talk', me() + '&text=' + encodeURIComponent(text), function (xhr) {
      if (xhr.status === 200) input.value = '';
      else $('status').textContent = 'not sent (' + xhr.status + ')';
    });
  }
  function rename() {
    var oldName = getCookie('userName');
    var name = (prompt('New name', oldName) || '').trim();
    if (!name || name === oldName || !JS.Engine.getId()) return;
    setCookie('userName', name);
    JS.AJAX.post('talk.do?cmd=rename', me() +
      '&newName=' + encodeURIComponent(name) + '&oldName=' + encodeURIComponent(oldName));
  }

  JS.on(window, 'load', function () {
    $('loginButton').onclick = login;
    $('loginName').onkeydown = function (e) { if (e.key === 'Enter') login(); };
    $('send').onclick = send;
    $('rename').onclick = rename;
    $('input').onkeydown = function (e) {
      if (e.key === 'Enter') { send(); return; }
      var now = Date.now();
      if (now - lastTyping > 2000 && JS.Engine.getId()) { lastTyping = now; JS.Engine.send('talker', {}, { event: 'typing' }); }
    };
    if (getCookie('userName')) enter(); else { $('login').hidden = false; $('loginName').focus(); }
  });
})();
