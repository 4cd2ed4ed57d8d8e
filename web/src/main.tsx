import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { errorText, get, post, prefetchTable, setUnauthorizedHandler } from "./api";
import { Sidebar } from "./sidebar";
import { BLOCK_SIZE } from "./grid";
import { TablePage } from "./table";
import "./style.css";

export interface Me {
  id: number;
  email: string;
  name: string;
}
export interface Workspace {
  id: number;
  name: string;
}

export function navigate(path: string) {
  if (location.pathname !== path) history.pushState(null, "", path);
  window.dispatchEvent(new Event("claystack:navigate"));
}

function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    window.addEventListener("popstate", update);
    window.addEventListener("claystack:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("claystack:navigate", update);
    };
  }, []);
  return path;
}

function Login({ onDone }: { onDone: () => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      await post("/v3/auth/login", { email, password, source: null });
      onDone();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">claystack</h1>
        <p class="muted">Log in to your workspace</p>
        <label>
          Email
          <input
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}

function Home() {
  return (
    <section class="home">
      <h1>Welcome to claystack</h1>
      <p>
        Pick a table on the left, or create a workbook and a table with the <strong>+</strong>{" "}
        buttons. Add columns, import a CSV or a webhook source, then run enrichment columns and
        watch them fill.
      </p>
      <p>
        <a href="/docs">API documentation</a> · <a href="/usage">Credits and usage</a>
      </p>
    </section>
  );
}

function Usage({ workspaceId }: { workspaceId: number }) {
  // Loaded on demand: the chart library is not needed to open a table.
  const [page, setPage] = useState<any>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    import("./usage").then((m) => setPage(() => m.UsagePage), (e) => setError(errorText(e)));
  }, []);
  if (error) return <p role="alert" class="error">{error}</p>;
  const Page = page;
  return Page ? <Page workspaceId={workspaceId} /> : <p class="loading">Loading…</p>;
}

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [workspaces, setWorkspaces] = useState<Workspace[]>([]);
  const [workspaceId, setWorkspaceId] = useState<number | null>(null);
  const [error, setError] = useState("");
  const [treeVersion, setTreeVersion] = useState(0);

  async function load() {
    try {
      const workspaces = get<{ results: Workspace[] }>("/v3/my-workspaces");
      workspaces.catch(() => {});
      const user = await get<Me>("/v3/me");
      const list = await workspaces;
      setWorkspaces(list.results);
      const saved = Number(localStorage.getItem("claystack.workspace"));
      const ids = list.results.map((w) => w.id);
      setWorkspaceId(ids.includes(saved) ? saved : (ids[0] ?? null));
      setMe(user);
    } catch (e: any) {
      if (e?.status === 401) setMe(null);
      else setError(errorText(e));
    }
  }
  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    load();
  }, []);

  if (error)
    return (
      <main class="login">
        <p role="alert" class="error">
          The app could not start: {error}
        </p>
      </main>
    );
  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null) return <Login onDone={load} />;

  async function logout() {
    try {
      await post("/v3/auth/logout");
    } finally {
      setMe(null);
      navigate("/");
    }
  }
  function switchWorkspace(id: number) {
    localStorage.setItem("claystack.workspace", String(id));
    setWorkspaceId(id);
    navigate("/");
  }

  const tableMatch = path.match(/^\/tables\/([^/]+)(?:\/views\/([^/]+))?/);
  let page;
  if (tableMatch)
    page = (
      <TablePage
        key={tableMatch[1]}
        tableId={decodeURIComponent(tableMatch[1])}
        viewId={tableMatch[2] ? decodeURIComponent(tableMatch[2]) : null}
        onRenamed={() => setTreeVersion((v) => v + 1)}
      />
    );
  else if (path === "/usage" && workspaceId !== null)
    page = <Usage workspaceId={workspaceId} />;
  else page = <Home />;

  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/" onClick={(e) => (e.preventDefault(), navigate("/"))}>
          claystack
        </a>
        <label class="ws-switch">
          <span class="sr-only">Workspace</span>
          <select
            aria-label="Workspace"
            value={workspaceId ?? ""}
            onChange={(e) => switchWorkspace(Number(e.currentTarget.value))}
          >
            {workspaces.map((w) => (
              <option value={w.id}>
                {w.name} ({w.id})
              </option>
            ))}
          </select>
        </label>
        <nav class="top-links">
          <a href="/usage" onClick={(e) => (e.preventDefault(), navigate("/usage"))}>
            Usage
          </a>
          <a href="/docs">API docs</a>
        </nav>
        <span class="me" title={me.email}>
          {me.name || me.email}
        </span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      {workspaceId !== null && (
        <Sidebar workspaceId={workspaceId} version={treeVersion} currentPath={path} />
      )}
      <main class="content" id="content">
        {page}
      </main>
    </div>
  );
}

window.addEventListener("click", (event) => {
  // Same-origin links to app routes navigate without a reload.
  const a = (event.target as HTMLElement).closest?.("a[data-route]") as HTMLAnchorElement | null;
  if (a && !event.ctrlKey && !event.metaKey && event.button === 0) {
    event.preventDefault();
    navigate(a.getAttribute("href") ?? "/");
  }
});

const opening = location.pathname.match(/^\/tables\/([^/]+)(?:\/views\/([^/]+))?/);
if (opening) prefetchTable(decodeURIComponent(opening[1]), opening[2] ? decodeURIComponent(opening[2]) : null, BLOCK_SIZE);

render(<App />, document.getElementById("app")!);
