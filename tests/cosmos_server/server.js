#!/usr/bin/env node
// Starts @vercel/cosmosdb-server (in memory) on --host/--port for FaceLoop's contract tests.
//
// One protocol gap is bridged here: the real service takes a transactional batch's partition
// key from the x-ms-documentdb-partitionkey header (that is what azure-cosmos sends), while this
// server reads it from each operation. We copy the header into operations that lack one. And a
// point read of a missing document answers 404 (the server itself fails with a 500 there).
// Both patches must be in place before the server's routes are loaded.
const json = require("@vercel/cosmosdb-server/lib/json");
const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");

const readOne = readDocument.default;
readDocument.default = async (account, req, res, params) => {
  try {
    return await readOne(account, req, res, params);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    res.statusCode = 404;
    return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
  }
};

const readJson = json.default;
json.default = async (req) => {
  const body = await readJson(req);
  const header = req.headers["x-ms-documentdb-partitionkey"];
  if (req.headers["x-ms-cosmos-is-batch-request"] && header && Array.isArray(body)) {
    for (const op of body) {
      if (op && op.partitionKey === undefined) op.partitionKey = header;
    }
  }
  return body;
};

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const host = option("--host", "127.0.0.1");
const port = parseInt(option("--port", "0"), 10);
const server = createHttpsServer({ keepAlive: true }).listen(port, host, () => {
  console.log(`Ready to accept HTTPS connections at ${host}:${server.address().port}`);
});
