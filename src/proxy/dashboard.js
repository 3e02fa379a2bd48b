// The dashboard's script (served inline by proxy/pages/dashboard.rs). The rows are rendered
// by the server only: when /api/ports changes, the page fetches itself and swaps the table,
// so a port's row looks the same whether it came with the page or later, and nothing reloads.
(function () {
  'use strict';
  var seen = null;

  function signature(d) {
    return JSON.stringify(d.ports.map(function (p) {
      return [p.port, p.process && p.process.pid, p.title, p.visibility, p.refused, p.name, p.clash];
    }));
  }

  // Swaps in the server's current rows, keeping the keyboard focus where it was.
  function refresh() {
    return fetch(location.pathname, { cache: 'no-store', headers: { accept: 'text/html' } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.getElementById('ports');
        var old = document.getElementById('ports');
        if (!fresh || !old) return;
        var count = doc.querySelector('main > p');
        if (count) document.querySelector('main > p').textContent = count.textContent;
        var focused = document.activeElement;
        var again = focused && old.contains(focused) && focused.id;
        old.replaceWith(fresh);
        if (again && document.getElementById(again)) document.getElementById(again).focus();
      });
  }

  function poll() {
    fetch('/api/ports', { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var now = signature(d);
        if (seen !== null && now !== seen) refresh();
        seen = now;
      })
      .catch(function () {});
  }
  poll();
  setInterval(poll, 3000);

  function copy(text, button) {
    var done = function () {
      var was = button.textContent;
      button.textContent = 'Copied';
      setTimeout(function () { button.textContent = was; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else {
      fallback(text);
      done();
    }
  }

  // Plain-HTTP public domains are no secure context: no clipboard API there.
  function fallback(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try { document.execCommand('copy'); } catch (e) {}
    area.remove();
  }

  var dialog = document.getElementById('share');

  document.addEventListener('click', function (event) {
    var button = event.target.closest('button');
    if (!button) return;
    if (button.classList.contains('copy')) copy(button.dataset.url, button);
    if (button.classList.contains('share') && dialog) open(button);
    if (button.classList.contains('revoke') || button.classList.contains('private-again')) revoke(button);
  });

  if (!dialog) return;
  var token = dialog.dataset.token;
  var form = document.getElementById('share-form');
  var list = document.getElementById('share-list');
  var problem = document.getElementById('share-error');

  // Every share action carries the page's token; the server also checks Origin.
  function api(method, query, body) {
    return fetch('/api/shares' + query, {
      method: method,
      cache: 'no-store',
      headers: { 'content-type': 'application/json', 'x-portproxy-dashboard': token },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) {
      return r.json().then(function (d) {
        if (!r.ok) throw new Error(d.message || 'HTTP ' + r.status);
        return d;
      });
    });
  }

  function human(secs) {
    if (secs >= 86400) return Math.floor(secs / 86400) + 'd ' + Math.floor(secs % 86400 / 3600) + 'h';
    if (secs >= 3600) return Math.floor(secs / 3600) + 'h ' + Math.floor(secs % 3600 / 60) + 'm';
    if (secs >= 60) return Math.floor(secs / 60) + 'm';
    return secs + 's';
  }

  function element(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function show(shares, publicFor) {
    list.replaceChildren();
    if (publicFor) {
      var publicItem = element('div', 'link-item');
      publicItem.appendChild(element('div', 'public', 'Public: anyone opens it without signing in · ' + human(publicFor) + ' left'));
      var privateButton = element('button', 'private-again', 'Make private');
      privateButton.type = 'button';
      var row = element('div', 'buttons');
      row.appendChild(privateButton);
      publicItem.appendChild(row);
      list.appendChild(publicItem);
    }
    shares.forEach(function (s) {
      var item = element('div', 'link-item');
      item.dataset.id = s.id;
      item.appendChild(element('div', '', s.who + ' · ' + human(s.left) + ' left · opened ' + s.uses + '×'));
      var link = element('input', 'link');
      link.readOnly = true;
      link.value = s.links[0] || '';
      link.setAttribute('aria-label', 'Share link');
      item.appendChild(link);
      // The SVG is drawn by portproxy from the link itself.
      var qr = element('div', 'qr');
      qr.innerHTML = s.qr || '';
      qr.setAttribute('role', 'img');
      qr.setAttribute('aria-label', 'QR code of the link');
      item.appendChild(qr);
      var buttons = element('div', 'buttons');
      var copyButton = element('button', 'copy', 'Copy link');
      copyButton.type = 'button';
      copyButton.dataset.url = link.value;
      var revokeButton = element('button', 'revoke', 'Revoke');
      revokeButton.type = 'button';
      revokeButton.dataset.id = s.id;
      buttons.append(copyButton, revokeButton);
      item.appendChild(buttons);
      list.appendChild(item);
    });
  }

  function load() {
    return api('GET', '?port=' + dialog.dataset.port).then(function (d) { show(d.shares, d.public_for); });
  }

  function open(button) {
    dialog.dataset.port = button.dataset.port;
    document.getElementById('share-port').textContent = button.dataset.port;
    problem.textContent = '';
    list.replaceChildren();
    dialog.showModal();
    load().catch(function (e) { problem.textContent = e.message; });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var reach = form.elements.reach.value;
    var create = document.getElementById('share-create');
    create.disabled = true;
    create.textContent = ['lan', 'loopback', 'public'].indexOf(reach) >= 0 ? 'Creating…' : 'Starting the tunnel…';
    problem.textContent = '';
    api('POST', '', {
      port: Number(dialog.dataset.port),
      for_secs: Number(form.elements['for'].value),
      lan: reach === 'lan',
      via: ['cloudflared', 'tailscale', 'ngrok'].indexOf(reach) >= 0 ? reach : null,
      public: reach === 'public',
    })
      .then(load)
      .then(function () {
        var first = list.querySelector('input.link');
        if (first) first.focus();
        refresh();
      })
      .catch(function (e) { problem.textContent = e.message; })
      .then(function () {
        create.disabled = false;
        create.textContent = 'Create link';
      });
  });

  // Revoke one link, or (Make private) every link of the port and its public time.
  function revoke(button) {
    button.disabled = true;
    var which = button.dataset.id ? '?id=' + encodeURIComponent(button.dataset.id) : '?port=' + dialog.dataset.port;
    api('DELETE', which)
      .then(load)
      .then(refresh)
      .catch(function (e) { problem.textContent = e.message; button.disabled = false; });
  }

  document.getElementById('share-close').addEventListener('click', function () { dialog.close(); });
  // Back to the row's Share button (by id: the rows may have been swapped meanwhile).
  dialog.addEventListener('close', function () {
    var back = document.getElementById('share-' + dialog.dataset.port);
    if (back) back.focus();
  });
})();
