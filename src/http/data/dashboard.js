// kvcpu dashboard: SSE -> htmx refresh of the map and side panel; guest selection; plan apply.
// No framework beyond htmx; served by the agent (no CDN). Keyboard: every chip and guest is a button.
/* global document, location, history, sessionStorage, fetch, EventSource, URL, htmx -- browser globals; htmx is loaded by the page before this script */
(function () {
  'use strict';
  var input = document.getElementById('guest-input');
  var live = document.getElementById('live');
  var focusId = null;

  function refresh() {
    var a = document.activeElement;
    focusId = a && a.id && a.id !== 'token' ? a.id : null;
    htmx.trigger(document.body, 'kvcpu-sample');
  }
  document.body.addEventListener('htmx:afterSwap', function () {
    if (focusId) {
      var el = document.getElementById(focusId);
      if (el) el.focus();
    }
  });

  function select(name) {
    input.value = input.value === name ? '' : name;
    var u = new URL(location.href);
    if (input.value) u.searchParams.set('guest', input.value);
    else u.searchParams.delete('guest');
    history.replaceState(null, '', u);
    refresh();
  }
  document.addEventListener('click', function (e) {
    var b = e.target.closest('[data-select]');
    if (b) {
      focusId = b.id;
      select(b.getAttribute('data-select'));
      return;
    }
    if (e.target.closest('#apply')) apply();
  });

  var token = document.getElementById('token');
  if (token) {
    token.value = sessionStorage.getItem('kvcpu-token') || '';
    token.addEventListener('change', function () {
      sessionStorage.setItem('kvcpu-token', token.value);
    });
  }
  var persist = document.getElementById('apply-config');
  if (persist) {
    persist.checked = sessionStorage.getItem('kvcpu-apply-config') === '1';
    persist.addEventListener('change', function () {
      sessionStorage.setItem('kvcpu-apply-config', persist.checked ? '1' : '0');
    });
  }
  function apply() {
    var status = document.getElementById('apply-status');
    var planEl = document.getElementById('plan-json');
    if (!planEl || !token) return;
    status.textContent = 'applying…';
    fetch('/api/v1/pin', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token.value },
      // Libvirt domains are pinned through libvirt (virsh vcpupin/emulatorpin, as `kvcpu pin`
      // does); the box adds --config so their persistent XML gets the <cputune> too.
      body: JSON.stringify({ plan: JSON.parse(planEl.textContent), config: !!(persist && persist.checked) }),
    })
      .then(function (r) {
        return r.json().then(function (j) {
          if (r.ok) status.textContent = 'applied: ' + j.changes.length + ' thread(s) pinned';
          else status.textContent = 'refused (' + j.error.code + '): ' + j.error.message;
        });
      })
      .catch(function (e) {
        status.textContent = 'failed: ' + e;
      })
      .finally(refresh);
  }

  var es = new EventSource('/api/v1/events');
  es.addEventListener('sample', function (ev) {
    var d = JSON.parse(ev.data);
    live.textContent = 'live · sample #' + d.seq + ' at ' + d.takenAt + ' · ' + d.guests.length + ' guest(s)';
    document.body.setAttribute('data-seq', String(d.seq));
    refresh();
  });
  es.onerror = function () {
    live.textContent = 'disconnected: reconnecting…';
  };
})();
