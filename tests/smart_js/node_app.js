// A server-side SMART app on the SMART JavaScript client's node build (npm `fhirclient`, unmodified):
// /launch starts a standalone launch, /callback finishes it, reads every page of the member's claims,
// refreshes the token once and answers what it saw as JSON. Prints its port once listening.
const http = require("http");
const smart = require("fhirclient/lib/entry/node");

const saved = new Map();
const storage = {  // one member at a time: the client's state lives in this process
  get: async key => saved.get(key),
  set: async (key, value) => { saved.set(key, value); return value; },
  unset: async key => saved.delete(key),
};

async function callback(request, response) {
  const client = await smart(request, response, storage).ready();
  const claims = await client.request(
    "ExplanationOfBenefit?patient=" + client.patient.id + "&_count=4", {pageLimit: 0, flat: true});
  const firstToken = client.state.tokenResponse.access_token;
  await client.refresh();
  return {
    patient: client.patient.id,
    claimIds: claims.map(claim => claim.id),
    fhirUser: client.getFhirUser(),
    refreshed: client.state.tokenResponse.access_token !== firstToken,
  };
}

http.createServer(async (request, response) => {
  const url = new URL(request.url, "http://" + request.headers.host);
  try {
    if (url.pathname === "/launch") {
      await smart(request, response, storage).authorize({
        iss: url.searchParams.get("iss"),
        clientId: url.searchParams.get("client_id"),
        scope: url.searchParams.get("scope"),
        redirectUri: "/callback",
        pkceMode: "required",
      });
    } else if (url.pathname === "/callback") {
      const result = await callback(request, response);
      response.writeHead(200, {"Content-Type": "application/json"});
      response.end(JSON.stringify(result));
    } else {
      response.writeHead(404);
      response.end();
    }
  } catch (error) {
    response.writeHead(500, {"Content-Type": "application/json"});
    response.end(JSON.stringify({error: String(error)}));
  }
}).listen(0, "127.0.0.1", function () {
  console.log(JSON.stringify({port: this.address().port}));
});
