// Runs one call of Gradio's JavaScript client (@gradio/client) against a live app and prints
// its outcome as JSON: {"value": ...} when the call resolves, {"rejected": message} when not.
// Usage: node js_client_driver.mjs CLIENT_MODULE APP_URL CASE
import { pathToFileURL } from "node:url";

const [clientModule, url, name] = process.argv.slice(2);
const { Client } = await import(pathToFileURL(clientModule).href);
const app = await Client.connect(url, { events: ["data", "status"] });

// Every data message of a submission in arrival order, up to its "complete" status.
async function collect(submission) {
  const data = [];
  for await (const msg of submission) {
    if (msg.type === "data") data.push(msg.data);
    if (msg.type === "status" && msg.stage === "error") throw new Error(msg.message);
    if (msg.type === "status" && msg.stage === "complete") return data;
  }
  throw new Error(`stream ended before "complete" after ${JSON.stringify(data)}`);
}

const cases = {
  positional: async () => (await app.predict("/greet", ["al", 2, false, "b"])).data,
  keyword: async () =>
    (await app.predict("/greet", { name: "al", times: 1, loud: true, choice: "a" })).data,
  stream: () => collect(app.submit("/stream", { text: "abc" })),
  error: async () => (await app.predict("/refuse", ["x"])).data,
};

let outcome;
try {
  outcome = { value: await cases[name]() };
} catch (err) {
  outcome = { rejected: err?.message ?? String(err) };
}
console.log(JSON.stringify(outcome));
process.exit(0); // the client's heartbeat stream would keep Node running
