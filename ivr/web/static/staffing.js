// Today's staffing on the wall screen: per hour, the agents logged in (a bar, on average)
// against the agents Erlang C says the hour's calls needed (a mark); an hour short of
// agents is red. Reads GET /api/staffing (today so far) now and every minute.
import { byId, fill, h, setText } from "./dom.js";

const REFRESH_MS = 60000;

function hourLabel(hour) {
  const needed = hour.needed === null ? "not known yet" : String(hour.needed);
  const calls = `${hour.offered} call${hour.offered === 1 ? "" : "s"}`;
  return (
    `${hour.hour.slice(11)}: ${calls}, needed ${needed}, ` +
    `logged in ${hour.logged_in_average.toFixed(1)} (at most ${hour.logged_in_max})`
  );
}

/** One hour's column: the logged-in bar, the needed mark, the hour under it. */
function column(hour, top) {
  const short = hour.gap !== null && hour.gap > 0;
  const bar = h("span", { class: "staffing-bar" });
  bar.style.height = `${(hour.logged_in_average / top) * 100}%`;
  const need = h("span", { class: "staffing-need", hidden: !hour.needed }); // none, or 0
  need.style.bottom = `${((hour.needed ?? 0) / top) * 100}%`;
  return h(
    "div",
    {
      class: short ? "staffing-col short" : "staffing-col",
      title: hourLabel(hour),
      dataset: {
        testid: "staffing-hour",
        hour: hour.hour,
        needed: hour.needed ?? "",
        loggedIn: hour.logged_in_average,
      },
    },
    h("div", { class: "staffing-plot" }, bar, need),
    h("span", { class: "staffing-label" }, hour.hour.slice(11, 13)),
  );
}

function render(staffing) {
  const hours = staffing.hours;
  const top = Math.max(1, ...hours.map((x) => Math.max(x.needed ?? 0, x.logged_in_max)));
  fill(byId("staffing-chart"), hours.map((x) => column(x, top)));
  const now = hours[hours.length - 1];
  const short = hours.filter((x) => x.gap !== null && x.gap > 0).length;
  setText(byId("staffing-goal"), `needed for ${staffing.goals} (Erlang C)`);
  setText(
    byId("staffing-note"),
    now
      ? `${hourLabel(now)} · ${short} of ${hours.length} hours short of agents`
      : "no hours yet",
  );
}

async function refresh() {
  try {
    const response = await fetch("/api/staffing", {
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    setText(byId("staffing-note"), `staffing not available (${error.message})`);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
