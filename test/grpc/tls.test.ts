import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { credentials, status } from "@grpc/grpc-js";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";
import { connect } from "./_helpers.js";
import { OPENSSL, run, toolSkipReason } from "./_tools.js";

const skip = toolSkipReason(OPENSSL, "openssl", "apt-get install -y openssl");
const hi = { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 2 };
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const r = await run(
    OPENSSL as string,
    args.map((a) => a.replace("@", `${dir}/`)),
  );
  assert.equal(r.code, 0, r.stderr);
}

/** A certificate for `cn`, signed by the CA `ca`, with the given x509v3 extensions. */
async function makeCert(dir: string, ca: string, name: string, cn: string, ext: string): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  await openssl(dir, "req", ...EC, "-keyout", `@${name}.key`, "-out", `@${name}.csr`, "-subj", `/CN=${cn}`);
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `@${name}.csr`,
    "-CA",
    `@${ca}.pem`,
    "-CAkey",
    `@${ca}.key`,
    "-CAcreateserial",
    "-out",
    `@${name}.pem`,
    "-days",
    "1",
    "-extfile",
    `@${name}.ext`,
  );
}

describe("gRPC over TLS and mutual TLS", { skip }, () => {
  let dir: string;
  let sim: Running;
  let tls: Running;
  let mtls: Running;
  const pem = (name: string) => readFileSync(join(dir, `${name}.pem`));
  const key = (name: string) => readFileSync(join(dir, `${name}.key`));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-grpc-tls-"));
    for (const ca of ["ca", "other-ca"]) {
      await openssl(
        dir,
        "req",
        "-x509",
        ...EC,
        "-keyout",
        `@${ca}.key`,
        "-out",
        `@${ca}.pem`,
        "-days",
        "1",
        "-subj",
        `/CN=Switchyard test ${ca}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      );
    }
    await makeCert(
      dir,
      "ca",
      "server",
      "localhost",
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth",
    );
    await makeCert(dir, "ca", "client", "grpc-client", "extendedKeyUsage=clientAuth");
    await makeCert(dir, "other-ca", "stranger", "stranger", "extendedKeyUsage=clientAuth");
    sim = await startSim(["--model", "sim-small:instant"]);
    const files = { certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key") };
    const cfg = (grpcTls: Record<string, unknown>) =>
      configFor(sim.url, { logging: { level: "warn" }, grpc: { tls: grpcTls } });
    tls = await startGateway(cfg(files));
    mtls = await startGateway(cfg({ ...files, clientCaFile: join(dir, "ca.pem") }));
  });
  after(async () => {
    await tls?.stop();
    await mtls?.stop();
    await sim?.stop();
  });

  test("TLS: a client trusting the CA gets answers; a plaintext client does not", async () => {
    const secure = connect(tls.grpcPort!, credentials.createSsl(pem("ca")));
    const ok = await secure.chat(hi);
    assert.equal(ok.error, undefined, ok.error?.details);
    assert.ok(ok.response?.choices?.length);
    secure.close();
    const plain = connect(tls.grpcPort!);
    const refused = await plain.chat(hi, undefined, { deadline: Date.now() + 3_000 });
    assert.ok(
      refused.error?.code === status.UNAVAILABLE || refused.error?.code === status.DEADLINE_EXCEEDED,
      `plaintext against TLS: ${refused.error?.code} ${refused.error?.details}`,
    );
    plain.close();
    const untrusting = connect(tls.grpcPort!, credentials.createSsl(pem("other-ca")));
    const notTrusted = await untrusting.chat(hi, undefined, { deadline: Date.now() + 3_000 });
    assert.equal(notTrusted.error?.code, status.UNAVAILABLE);
    untrusting.close();
  });

  test("mTLS: only clients with a certificate from the configured CA get in", async () => {
    const withCert = connect(mtls.grpcPort!, credentials.createSsl(pem("ca"), key("client"), pem("client")));
    const ok = await withCert.chat(hi);
    assert.equal(ok.error, undefined, ok.error?.details);
    withCert.close();

    const noCert = connect(mtls.grpcPort!, credentials.createSsl(pem("ca")));
    const refused = await noCert.chat(hi, undefined, { deadline: Date.now() + 3_000 });
    assert.equal(refused.error?.code, status.UNAVAILABLE, refused.error?.details);
    noCert.close();

    const stranger = connect(
      mtls.grpcPort!,
      credentials.createSsl(pem("ca"), key("stranger"), pem("stranger")),
    );
    const denied = await stranger.chat(hi, undefined, { deadline: Date.now() + 3_000 });
    assert.equal(denied.error?.code, status.UNAVAILABLE, denied.error?.details);
    stranger.close();
  });
});
