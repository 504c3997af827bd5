// Client script for the tinyhttp demo page: polls /api/status and renders a small table.
"use strict";

const POLL_MS = 5000;

function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function renderRows(items) {
  if (items.length === 0) {
    return '<tr><td colspan="3">No requests yet.</td></tr>';
  }
  return items
    .map(
      (item) =>
        `<tr><td>${escapeHtml(item.method)}</td><td>${escapeHtml(item.path)}</td>` +
        `<td class="num">${Number(item.ms).toFixed(1)}</td></tr>`,
    )
    .join("\n");
}

async function fetchStatus(signal) {
  const response = await fetch("/api/status", { signal, headers: { Accept: "application/json" } });
  if (!response.ok) {
    throw new Error(`status request failed: ${response.status}`);
  }
  return response.json();
}

async function refresh() {
  const table = document.querySelector("#recent tbody");
  const note = document.querySelector("#note");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), POLL_MS - 500);
  try {
    const status = await fetchStatus(controller.signal);
    table.innerHTML = renderRows(status.recent || []);
    note.textContent = `Up for ${Math.round(status.uptime_s)} s, ${status.requests} requests served.`;
  } catch (err) {
    note.textContent = `Could not reach the server (${err.message}).`;
  } finally {
    clearTimeout(timer);
  }
}

if (typeof document !== "undefined") {
  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    setInterval(refresh, POLL_MS);
  });
}

if (typeof module !== "undefined") {
  module.exports = { escapeHtml, renderRows };
}
