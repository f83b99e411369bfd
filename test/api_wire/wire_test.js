// Wire compatibility of //api:envoy_pb with the reference Envoy v3 protos.
//
// Each case is built and encoded with the reference protos (protobufjs), decoded and re-encoded by
// wire_roundtrip (our protoc-c code), and checked four ways:
//   1. our decoder saw no unknown field (a field missing from our .proto, or under another number);
//   2. our decoded message, rendered field by field from our descriptors, equals the reference's
//      decoding of the same bytes (names, numbers, types, enum names, nested Any payloads);
//   3. our re-encoding decodes, with the reference protos, to the same message;
//   4. a few values read through our generated C structs match what the case put in.
// Usage: node wire_test.js PATH/TO/wire_roundtrip
'use strict';

const assert = require('assert');
const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const peers = path.join(repo, 'test', 'peers', 'node_modules');
const protobuf = require(path.join(peers, 'protobufjs'));
const deps = path.join(peers, '@grpc', 'grpc-js-xds', 'deps');
// The well-known types are read from the system's .proto files, not from protobufjs's built-in
// copies: those name some fields in camelCase (google.protobuf.Value.bool_value is boolValue there)
// and would not match the proto field names we compare by.
for (const name of Object.keys(protobuf.common)) {
  if (name.startsWith('google/protobuf/')) delete protobuf.common[name];
}
const includes = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate']
  .map((d) => path.join(deps, d))
  .concat(['/usr/include']);

const root = new protobuf.Root();
root.resolvePath = (origin, target) => {
  for (const dir of includes) {
    const candidate = path.join(dir, target);
    if (fs.existsSync(candidate)) return candidate;
  }
  return target;
};
root.loadSync(
  [
    'envoy/config/bootstrap/v3/bootstrap.proto',
    'envoy/config/route/v3/route.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
    'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/extensions/filters/http/fault/v3/fault.proto',
    'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
    'envoy/extensions/access_loggers/file/v3/file.proto',
    'envoy/extensions/access_loggers/stream/v3/stream.proto',
    'envoy/extensions/transport_sockets/tls/v3/tls.proto',
    'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
    'envoy/service/discovery/v3/discovery.proto',
  ],
  { keepCase: true },
);
root.resolveAll();

const TO_OBJECT = { longs: String, enums: String, bytes: String, json: true };
const type = (name) => root.lookupType(name);

// fromObject drops keys it does not know and encodes explicit defaults, either of which would let a
// mistake in a case pass unnoticed (both sides would simply agree on less), so cases are checked
// first: every key must be a field, and no field outside a oneof may hold its default value.
function checkObject(t, obj, where) {
  for (const [k, v] of Object.entries(obj)) {
    const f = t.fields[k];
    if (!f) throw new Error(`${where}.${k}: no such field in ${t.fullName}`);
    f.resolve();
    const at = `${where}.${k}`;
    if (f.map) {
      for (const [mk, mv] of Object.entries(v)) checkValue(f, mv, `${at}[${mk}]`, true);
    } else if (f.repeated) {
      v.forEach((e, i) => checkValue(f, e, `${at}[${i}]`, true));
    } else {
      checkValue(f, v, at, Boolean(f.partOf));
    }
  }
}

function checkValue(f, v, at, presenceOnWire) {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    if (rt.fullName === '.google.protobuf.Any') return; // built with pack()
    checkObject(rt, v, at);
    return;
  }
  if (presenceOnWire) return;
  const isDefault =
    v === 0 || v === false || v === '' || (rt instanceof protobuf.Enum && rt.values[v] === 0) ||
    (v instanceof Uint8Array && v.length === 0);
  if (isDefault) throw new Error(`${at}: explicit default value ${JSON.stringify(v)}`);
}

function build(name, obj) {
  const t = type(name);
  checkObject(t, obj, t.name);
  return t.fromObject(obj);
}

// google.protobuf.Any holding `obj` as message `name`.
function pack(name, obj) {
  return {
    type_url: `type.googleapis.com/${name}`,
    value: type(name).encode(build(name, obj)).finish(),
  };
}

const enumValue = (typeName, enumName, value) => type(typeName).lookupEnum(enumName).values[value];
const sock = (address, port) => ({ socket_address: { address, port_value: port } });
const ads = { ads: {}, resource_api_version: 'V3' };

const cases = require('./wire_cases.js')({ pack, sock, ads, enumValue });

function firstDifference(ours, ref, at) {
  if (typeof ours !== typeof ref || Array.isArray(ours) !== Array.isArray(ref) ||
      ours === null || ref === null || typeof ours !== 'object') {
    return ours === ref ? null : `${at}: ours ${JSON.stringify(ours)}, reference ${JSON.stringify(ref)}`;
  }
  const keys = new Set([...Object.keys(ours), ...Object.keys(ref)]);
  for (const k of keys) {
    if (!(k in ours)) return `${at}.${k}: missing on our side (reference ${JSON.stringify(ref[k])})`;
    if (!(k in ref)) return `${at}.${k}: extra on our side (${JSON.stringify(ours[k])})`;
    const d = firstDifference(ours[k], ref[k], `${at}.${k}`);
    if (d) return d;
  }
  return null;
}

function runCase(tool, dir, c) {
  const t = type(c.type);
  const bytes = t.encode(build(c.type, c.message)).finish();
  const inPath = path.join(dir, `${c.name}.in.bin`);
  const outPath = path.join(dir, `${c.name}.out.bin`);
  fs.writeFileSync(inPath, bytes);
  const run = childProcess.spawnSync(tool, [c.type, inPath, outPath], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`wire_roundtrip exited ${run.status}: ${run.stderr.trim()}`);
  const got = JSON.parse(run.stdout);

  if (c.expectUnknown) {
    // The harness itself: a field outside our subset must be reported, not silently kept.
    if (!got.unknown_fields.includes(c.expectUnknown)) {
      throw new Error(`expected unknown field ${c.expectUnknown}, got ${JSON.stringify(got.unknown_fields)}`);
    }
    return;
  }
  if (got.unknown_fields.length) throw new Error(`unknown fields: ${got.unknown_fields.join(', ')}`);
  if (got.unresolved_any) throw new Error(`${got.unresolved_any} Any payload(s) of unknown type`);

  const reference = t.toObject(t.decode(bytes), TO_OBJECT);
  let d = firstDifference(got.message, reference, t.name);
  if (d) throw new Error(`decoded: ${d}`);

  const again = t.toObject(t.decode(fs.readFileSync(outPath)), TO_OBJECT);
  d = firstDifference(again, reference, t.name);
  if (d) throw new Error(`re-encoded: ${d}`);
  assert.deepStrictEqual(again, reference);

  for (const [k, want] of Object.entries(c.checks || {})) {
    if (got.checks[k] !== want) {
      throw new Error(`C struct ${k}: ${JSON.stringify(got.checks[k])}, want ${JSON.stringify(want)}`);
    }
  }
  if (Object.keys(got.checks).length !== Object.keys(c.checks || {}).length) {
    throw new Error(`C checked ${Object.keys(got.checks).join(', ')}; case expects ${Object.keys(c.checks || {}).join(', ')}`);
  }
}

function main() {
  const tool = process.argv[2];
  if (!tool) {
    console.error('usage: node wire_test.js PATH/TO/wire_roundtrip');
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-wire-'));
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    try {
      runCase(tool, dir, c);
      console.log(`PASS ${c.name}`);
      passed++;
    } catch (e) {
      console.log(`FAIL ${c.name}: ${e.message.split('\n')[0]}`);
      failed++;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
