// The header's bell: counts a new notification the moment it arrives (Socket.IO `notification`
// to the user's connections) and announces its title to screen readers.
(function () {
  const bell = document.querySelector("[data-bell]");
  if (!bell || typeof window.io !== "function") return;
  const badge = bell.querySelector("[data-unread]");
  const live = document.getElementById("bell-live");
  const socket = window.io({ transports: ["websocket", "polling"], forceNew: true });
  socket.on("notification", (n) => {
    const count = (parseInt(badge.textContent, 10) || 0) + 1;
    badge.textContent = String(count);
    badge.hidden = false;
    bell.dataset.unread = String(count);
    if (live && n && typeof n.title === "string") live.textContent = n.title;
  });
})();
