// Writes the Envoy v3 API subset under api/ (api/envoy/..., api/google/rpc/status.proto) from the
// full Envoy v3 .proto files that the test peers' npm packages ship (test/peers/node_modules).
//
// What it keeps: packages, message/enum/service names, field names, numbers, types, labels, oneofs,
// maps, reserved numbers. What it drops: comments, options and annotation imports (protoc-c 1.4.1
// cannot use validate/udpa options), fields marked deprecated, fields whose type lives in a file not
// listed in subset_protos.txt, and fields whose name would collide with protoc-c's C struct
// (e.g. `base`). Every dropped field is named in a comment in its message, so the subset is
// reviewable and the config codec's "unknown field" rejections are explainable.
//
// Usage: node api/tools/subset_protos.js   (then review `git diff api/`)
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const peers = path.join(repo, 'test', 'peers', 'node_modules');
const protobuf = require(path.join(peers, 'protobufjs'));
const deps = path.join(peers, '@grpc', 'grpc-js-xds', 'deps');
const includes = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate']
  .map((d) => path.join(deps, d))
  .concat(['/usr/include']);

const files = fs
  .readFileSync(path.join(__dirname, 'subset_protos.txt'), 'utf8')
  .split('\n')
  .map((s) => s.trim())
  .filter((s) => s && !s.startsWith('#'));
const inSubset = new Set(files);

const root = new protobuf.Root();
root.resolvePath = (origin, target) => {
  if (path.isAbsolute(target)) return target;
  for (const dir of includes) {
    const candidate = path.join(dir, target);
    if (fs.existsSync(candidate)) return candidate;
  }
  return target;
};
root.loadSync(files, { keepCase: true });
root.resolveAll();

const relative = (file) => {
  for (const dir of includes) if (file && file.startsWith(dir + '/')) return file.slice(dir.length + 1);
  return file;
};

// protobufjs answers well-known types from built-in copies with no file name; map them by hand.
const WKT_FILES = {
  Any: 'any', Duration: 'duration', Timestamp: 'timestamp', Empty: 'empty',
  Struct: 'struct', Value: 'struct', ListValue: 'struct', NullValue: 'struct',
  DoubleValue: 'wrappers', FloatValue: 'wrappers', Int64Value: 'wrappers', UInt64Value: 'wrappers',
  Int32Value: 'wrappers', UInt32Value: 'wrappers', BoolValue: 'wrappers', StringValue: 'wrappers',
  BytesValue: 'wrappers',
};
function fileOf(t) {
  if (t.fullName.startsWith('.google.protobuf.')) {
    const wkt = WKT_FILES[t.fullName.split('.')[3]];
    return wkt ? `google/protobuf/${wkt}.proto` : null;
  }
  return relative(t.filename);
}
const carried = (file) => file && (inSubset.has(file) || file.startsWith('google/protobuf/'));

// protoc-c puts `ProtobufCMessage base;` first in every struct, and C keywords cannot be members.
const C_CLASHES = new Set(('base auto break case char const continue default do double else enum ' +
  'extern float for goto if inline int long register restrict return short signed sizeof static ' +
  'struct switch typedef union unsigned void volatile while _Bool').split(' '));

function reservedLines(obj, ind) {
  const nums = (obj.reserved || []).filter(Array.isArray)
    .map(([a, b]) => (a === b ? `${a}` : b >= 536870911 ? `${a} to max` : `${a} to ${b}`));
  return nums.length ? [`${ind}reserved ${nums.join(', ')};`] : [];
}

function emitEnum(e, ind, out) {
  out.push(`${ind}enum ${e.name} {`);
  const nums = Object.values(e.values);
  if (new Set(nums).size !== nums.length) out.push(`${ind}  option allow_alias = true;`);
  out.push(...reservedLines(e, ind + '  '));
  for (const [k, v] of Object.entries(e.values)) out.push(`${ind}  ${k} = ${v};`);
  out.push(`${ind}}`);
}

function emitMessage(t, ind, out, imports, file) {
  const outside = [], clashes = [], deprecated = [], body = [];
  for (const n of t.nestedArray) {
    if (n instanceof protobuf.Enum) emitEnum(n, ind + '  ', body);
    else if (n instanceof protobuf.Type) emitMessage(n, ind + '  ', body, imports, file);
    else continue;
    body.push('');
  }
  body.push(...reservedLines(t, ind + '  '));

  const keep = (f) => {
    if (f.options && f.options.proto3_optional) throw new Error(`proto3 optional: ${t.fullName}.${f.name}`);
    const tag = `${f.name} = ${f.id}`;
    if (C_CLASHES.has(f.name)) return clashes.push(tag) && false;
    if (f.options && f.options.deprecated) return deprecated.push(tag) && false;
    if (!f.resolvedType) return true;
    const tf = fileOf(f.resolvedType);
    if (!carried(tf)) return outside.push(tag) && false;
    if (tf !== file) imports.add(tf);
    return true;
  };
  const line = (f, i) => {
    const label = f.map ? `map<${f.keyType}, ${f.type}>` : f.repeated ? `repeated ${f.type}` : f.type;
    return `${i}${label} ${f.name} = ${f.id};`;
  };
  const oneofsDone = new Set();
  for (const f of t.fieldsArray) {
    if (!f.partOf) {
      if (keep(f)) body.push(line(f, ind + '  '));
      continue;
    }
    if (oneofsDone.has(f.partOf)) continue;
    oneofsDone.add(f.partOf);
    const kept = f.partOf.fieldsArray.filter(keep);
    if (!kept.length) continue;
    body.push(`${ind}  oneof ${f.partOf.name} {`);
    for (const g of kept) body.push(line(g, ind + '    '));
    body.push(`${ind}  }`);
  }

  out.push(`${ind}message ${t.name} {`);
  if (clashes.length) out.push(`${ind}  // Left out because protoc-c's C struct already has a member of that name: ${clashes.join(', ')}.`);
  if (deprecated.length) out.push(`${ind}  // Deprecated in the Envoy v3 API, left out: ${deprecated.join(', ')}.`);
  if (outside.length) out.push(`${ind}  // Outside the subset (their types are not carried here): ${outside.join(', ')}.`);
  while (body.length && body[body.length - 1] === '') body.pop();
  out.push(...body, `${ind}}`);
}

function emitService(s, out, imports, file) {
  out.push(`service ${s.name} {`);
  for (const m of s.methodsArray) {
    m.resolve();
    for (const t of [m.resolvedRequestType, m.resolvedResponseType]) {
      if (fileOf(t) !== file) imports.add(fileOf(t));
    }
    const req = `${m.requestStream ? 'stream ' : ''}${m.requestType}`;
    const res = `${m.responseStream ? 'stream ' : ''}${m.responseType}`;
    out.push(`  rpc ${m.name}(${req}) returns (${res});`);
  }
  out.push('}');
}

function topLevel(ns, absFile, acc) {
  for (const n of ns.nestedArray) {
    const decl = n instanceof protobuf.Type || n instanceof protobuf.Enum || n instanceof protobuf.Service;
    if (decl && n.filename === absFile) acc.push(n);
    else if (!decl && n instanceof protobuf.Namespace) topLevel(n, absFile, acc);
  }
  return acc;
}

const HEADER = {
  default: [
    '// Envoy v3 API subset: same package, names and field numbers. Fields whose types lie outside',
    '// the subset are left out on purpose, so the config codec rejects them as unknown.',
  ],
  'google/rpc/status.proto': [
    '// google.rpc.Status, which the Envoy v3 API carries in DiscoveryRequest.error_detail.',
  ],
};

const written = [];
for (const file of files) {
  const decls = topLevel(root, root.resolvePath('', file), []);
  if (!decls.length) throw new Error(`nothing declared in ${file}`);
  const imports = new Set();
  const body = [];
  for (const d of decls) {
    if (d instanceof protobuf.Enum) emitEnum(d, '', body);
    else if (d instanceof protobuf.Service) emitService(d, body, imports, file);
    else emitMessage(d, '', body, imports, file);
    body.push('');
  }
  const out = [...(HEADER[file] || HEADER.default), '', 'syntax = "proto3";', '',
    `package ${decls[0].parent.fullName.slice(1)};`, ''];
  if (imports.size) out.push(...[...imports].sort().map((i) => `import "${i}";`), '');
  out.push(...body);
  while (out[out.length - 1] === '') out.pop();
  const dst = path.join(repo, 'api', file);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.writeFileSync(dst, out.join('\n') + '\n');
  written.push(dst);
}
// Same formatting as the rest of the tree.
childProcess.execFileSync('clang-format', ['-i', ...written], { cwd: repo, stdio: 'inherit' });
console.log(`wrote ${written.length} files under api/`);
