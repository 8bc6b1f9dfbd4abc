(function () { var shown = {version}; var key = {key}; var events = new EventSource("/__preview/events");
events.onmessage = function (e) { var m = JSON.parse(e.data); if (m.version === shown) { return; }
if (key === "" || m.changed === null || m.changed.indexOf(key) >= 0) { location.reload(); } else { shown = m.version; } }; })();
