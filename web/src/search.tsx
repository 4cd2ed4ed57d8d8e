// Grid search: the view search route finds the matching cells; next/previous scroll the grid
// to each one (its row index comes from the UI rows route) and mark it.
import { useEffect, useRef, useState } from "preact/hooks";
import { type SearchHit, errorText, rowIndex, searchView } from "./api";
import type { DataGrid } from "./grid";

/** The server's cap on matches (services/view_edits.SEARCH_LIMIT). */
const LIMIT = 10_000;

export function SearchBar(props: {
  tableId: string;
  viewId: string;
  grid: () => DataGrid | null;
  onError: (message: string) => void;
}) {
  const [term, setTerm] = useState("");
  const [searched, setSearched] = useState("");
  const [hits, setHits] = useState<SearchHit[]>([]);
  const [at, setAt] = useState(0);
  const [busy, setBusy] = useState(false);
  const indexes = useRef(new Map<string, number>());

  function clear() {
    setHits([]);
    setSearched("");
    setAt(0);
    indexes.current.clear();
    props.grid()?.setMatches([], 0);
  }
  useEffect(clear, [props.tableId, props.viewId]);

  async function show(list: SearchHit[], i: number) {
    const grid = props.grid();
    const hit = list[i];
    if (!grid || !hit) return;
    setAt(i);
    grid.setMatches(list, i);
    try {
      let index = indexes.current.get(hit.recordId);
      if (index === undefined) {
        index = await rowIndex(props.tableId, props.viewId, hit.recordId);
        indexes.current.set(hit.recordId, index);
      }
      grid.showCell(index, hit.fieldId);
    } catch (e) {
      props.onError(errorText(e));
    }
  }

  async function search(event: Event) {
    event.preventDefault();
    const wanted = term.trim();
    if (!wanted) return clear();
    // Enter again on the same term moves to the next match, as in a browser's find bar.
    if (wanted === searched && hits.length) return show(hits, (at + 1) % hits.length);
    setBusy(true);
    try {
      const found = await searchView(props.tableId, props.viewId, wanted);
      indexes.current.clear();
      setHits(found);
      setSearched(wanted);
      if (found.length) await show(found, 0);
      else props.grid()?.setMatches([], 0);
    } catch (e) {
      props.onError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const step = (delta: number) => hits.length && show(hits, (at + delta + hits.length) % hits.length);
  const count = hits.length >= LIMIT ? `${LIMIT.toLocaleString()}+` : hits.length.toLocaleString();
  return (
    <form class="grid-search" role="search" aria-label="Search this view" onSubmit={search}>
      <input
        type="search"
        aria-label="Search this view"
        placeholder="Search this view…"
        value={term}
        onInput={(e) => setTerm(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && e.shiftKey) {
            e.preventDefault();
            step(-1);
          } else if (e.key === "Escape") clear();
        }}
      />
      <span class="muted" role="status" data-testid="search-count">
        {busy ? "searching…" : searched ? (hits.length ? `${(at + 1).toLocaleString()} of ${count}` : "no matches") : ""}
      </span>
      <button type="button" aria-label="Previous match" disabled={!hits.length} onClick={() => step(-1)}>
        ↑
      </button>
      <button type="button" aria-label="Next match" disabled={!hits.length} onClick={() => step(1)}>
        ↓
      </button>
    </form>
  );
}
