// Streaming inputs (`.stream()`), the page's half of Gradio's wire format: the first chunk
// joins the queue as any event does; later chunks go to that running event by
// POST gradio_api/stream/{event_id}, and stopping the recording posts .../close.

export async function postChunk(session, eventId, fnIndex, data, triggerId, eventData) {
  const reply = await fetch(session.url(`gradio_api/stream/${eventId}`), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ data, fn_index: fnIndex, trigger_id: triggerId, event_data: eventData, session_hash: session.hash }),
  });
  return reply.ok; // 404: the stream has ended (time limit), the next chunk joins anew
}

export async function closeStream(session, eventId) {
  await fetch(session.url(`gradio_api/stream/${eventId}/close`), { method: "POST" });
}
