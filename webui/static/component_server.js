// A component's server functions (FileExplorer's `ls`, Dialogue's `format`/`unformat`):
// POST /gradio_api/component_server with {session_hash, component_id, fn_name, data}, as
// Gradio's page does; the answer is the function's JSON result.

export async function callServer(session, componentId, fnName, data) {
  const reply = await fetch(session.url("gradio_api/component_server"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session_hash: session.hash, component_id: componentId, fn_name: fnName, data }),
  });
  const body = await reply.json().catch(() => null);
  if (!reply.ok) throw new Error(body?.detail ?? `${fnName} failed: HTTP ${reply.status}`);
  return body;
}
