// The workspace tree: folders, workbooks and tables; search; create, rename, delete.
import { useEffect, useState } from "preact/hooks";
import { type Resource, del, errorText, patch, post } from "./api";
import { navigate } from "./main";
import { NamePrompt } from "./ui";

const ICON: Record<string, string> = { FOLDER: "◫", WORKBOOK: "▤", TABLE: "▦" };

interface Prompt {
  title: string;
  label: string;
  initial?: string;
  onSubmit: (name: string) => Promise<void>;
}

async function children(ws: number, parent: Resource | null): Promise<Resource[]> {
  const body = parent
    ? { parentResource: { type: parent.resourceType, id: parent.id }, filters: {} }
    : { parentResource: null, filters: {} };
  const data = await post<{ resources: Resource[] }>(`/v3/workspaces/${ws}/resources_v2/`, body);
  return data.resources;
}

function Node(props: {
  ws: number;
  node: Resource;
  depth: number;
  version: number;
  currentPath: string;
  act: (kind: string, node: Resource) => void;
}) {
  const { node } = props;
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Resource[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    if (open) children(props.ws, node).then(setItems, (e) => setError(errorText(e)));
  }, [open, props.version]);
  const isTable = node.resourceType === "TABLE";
  const href = `/tables/${node.id}`;
  const current = isTable && props.currentPath.startsWith(href);
  return (
    <li role="treeitem" aria-expanded={isTable ? undefined : open} aria-selected={current}>
      <div class={"node" + (current ? " current" : "")} style={{ paddingLeft: props.depth * 12 }}>
        {isTable ? (
          <a href={href} data-route="1">
            <span aria-hidden="true">{ICON.TABLE}</span> {node.name}
          </a>
        ) : (
          <button type="button" class="link" onClick={() => setOpen(!open)}>
            <span aria-hidden="true">{open ? "▾" : "▸"} {ICON[node.resourceType]}</span>{" "}
            {node.name}
          </button>
        )}
        <span class="node-actions">
          {!isTable && (
            <button
              type="button"
              title={node.resourceType === "FOLDER" ? "New workbook here" : "New table"}
              aria-label={`New ${node.resourceType === "FOLDER" ? "workbook" : "table"} in ${node.name}`}
              onClick={() => (setOpen(true), props.act("new", node))}
            >
              +
            </button>
          )}
          <button type="button" aria-label={`Rename ${node.name}`} title="Rename"
            onClick={() => props.act("rename", node)}>
            ✎
          </button>
          <button type="button" aria-label={`Delete ${node.name}`} title="Delete"
            onClick={() => props.act("delete", node)}>
            ✕
          </button>
        </span>
      </div>
      {open && error && <p class="error">{error}</p>}
      {/* An empty branch's note is no tree item: it stays outside the group. */}
      {open && items?.length === 0 && <p class="muted empty">empty</p>}
      {open && !!items?.length && (
        <ul role="group">
          {items.map((child) => (
            <Node {...props} node={child} depth={props.depth + 1} key={child.id} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function Sidebar(props: { workspaceId: number; version: number; currentPath: string }) {
  const ws = props.workspaceId;
  const [top, setTop] = useState<Resource[] | null>(null);
  const [version, setVersion] = useState(0);
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Resource[] | null>(null);
  const [error, setError] = useState("");
  const [prompt, setPrompt] = useState<Prompt | null>(null);
  const refresh = () => setVersion((v) => v + 1);

  useEffect(() => {
    children(ws, null).then(setTop, (e) => setError(errorText(e)));
  }, [ws, version, props.version]);
  useEffect(() => {
    if (!query.trim()) return setFound(null);
    const timer = setTimeout(() => {
      post<{ resources: Resource[] }>(`/v3/workspaces/${ws}/resources/search`, { query }).then(
        (d) => setFound(d.resources),
        (e) => setError(errorText(e)),
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [query, ws, version]);

  async function newTable(workbookId: string | null, name: string) {
    const body: any = { name, workspaceId: ws };
    if (workbookId) body.workbookId = workbookId;
    const data = await post<{ table: { id: string } }>("/v3/tables", body);
    refresh();
    navigate(`/tables/${data.table.id}`);
  }

  function act(kind: string, node: Resource | null) {
    setError("");
    if (kind === "new" && node?.resourceType === "WORKBOOK")
      setPrompt({ title: "New table", label: "Table name", onSubmit: (n) => newTable(node.id, n) });
    else if (kind === "new")
      setPrompt({
        title: "New workbook",
        label: "Workbook name",
        onSubmit: async (name) => {
          await post("/v3/workbooks", {
            name,
            workspaceId: ws,
            settings: { isAutoRun: true },
            parentFolderId: node?.id ?? null,
          });
          refresh();
        },
      });
    else if (kind === "folder")
      setPrompt({
        title: "New folder",
        label: "Folder name",
        onSubmit: async (name) => {
          await post(`/v3/workspaces/${ws}/folders`, { name });
          refresh();
        },
      });
    else if (kind === "table")
      setPrompt({ title: "New table", label: "Table name", onSubmit: (n) => newTable(null, n) });
    else if (kind === "rename" && node)
      setPrompt({
        title: `Rename ${node.resourceType.toLowerCase()}`,
        label: "New name",
        initial: node.name,
        onSubmit: async (name) => {
          if (node.resourceType === "TABLE") await patch(`/v3/tables/${node.id}`, { name });
          else if (node.resourceType === "WORKBOOK")
            await patch(`/v3/workspaces/${ws}/workbooks/${node.id}`, { name });
          else throw new Error("Folders cannot be renamed through the API yet");
          refresh();
        },
      });
    else if (kind === "delete" && node) {
      const what = node.resourceType.toLowerCase();
      if (!confirm(`Delete the ${what} "${node.name}" and everything in it? This is permanent.`))
        return;
      const key = { FOLDER: "folderIds", WORKBOOK: "workbookIds", TABLE: "tableIds" }[
        node.resourceType
      ];
      del(`/v3/workspaces/${ws}/resources/`, { [key]: [node.id], isPermanentDelete: true }).then(
        () => {
          refresh();
          if (props.currentPath.includes(node.id)) navigate("/");
        },
        (e) => setError(errorText(e)),
      );
    }
  }

  return (
    <aside class="sidebar" aria-label="Workspace contents">
      <div class="side-tools">
        <input
          type="search"
          placeholder="Search tables, workbooks…"
          aria-label="Search the workspace"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        <div class="row">
          <button type="button" onClick={() => act("table", null)}>+ Table</button>
          <button type="button" onClick={() => act("new", null)}>+ Workbook</button>
          <button type="button" onClick={() => act("folder", null)}>+ Folder</button>
        </div>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {found ? (
        <ul class="tree" aria-label="Search results">
          {found.length === 0 && <li class="muted empty">Nothing matches</li>}
          {found.map((r) => (
            <Node
              key={r.id}
              ws={ws}
              node={r}
              depth={0}
              version={version + props.version}
              currentPath={props.currentPath}
              act={act}
            />
          ))}
        </ul>
      ) : top?.length === 0 ? (
        <p class="muted empty">No workbooks yet</p>
      ) : (
        <ul class="tree" role="tree" aria-label="Folders, workbooks and tables">
          {top?.map((node) => (
            <Node
              key={node.id}
              ws={ws}
              node={node}
              depth={0}
              version={version + props.version}
              currentPath={props.currentPath}
              act={act}
            />
          ))}
        </ul>
      )}
      {prompt && <NamePrompt {...prompt} onClose={() => setPrompt(null)} />}
    </aside>
  );
}
