/**
 * @module
 * The help text of the `hashbeam` command line.
 */

export const USAGE = `usage: hashbeam <command> [options]

commands:
  serve                 run the node (default port 8734, embedded LMDB store in ./.hashbeam)
  verify <hashpath>     check a hashpath against the store: every link recomputed, every message re-hashed
  replay <hashpath>...  re-execute every step with this node's devices and compare result IDs
  export <hashpath> --out FILE.car    write the chain as a CAR file
  import FILE.car       check every block of a CAR against its hash, store the chain, verify it
  fault-proof RECEIPT.json --out PROOF.json   replay a signed receipt's step; a proof when it diverges on the same profile
  verify-fault PROOF.json [--reexecute]      check a fault proof without trusting either node
  measure [--json]      the software measurement attest@1.0 reports, with its parts
  model gen             write a generated GGUF model: --size tiny|medium|large --out FILE [--quant f16|q8_0|q4_0|q4_k] [--seed N] [--no-chat-template | --tools-template (ChatML with tool calls)]
  cluster up            a router and N workers on loopback as child processes: [--workers 3] [--port 8734] [--redis redis://…]
  keygen                create a wallet: [--out FILE] [--kind rsa|ed25519]; prints its address
  new device NAME       scaffold a device of your own in ./NAME: [--ts] [--dir DIR]; npm test there runs its tests
  config get [KEY]      a running node's settings (--node URL, default http://127.0.0.1:8734)
  config set KEY VALUE  change one, signed by the operator's wallet (--wallet FILE, default DATA/wallet.json)
  help                  this text

serve options:
  --port N              TCP port (env HASHBEAM_PORT; 0 picks a free one)
  --host ADDR           address to bind (env HASHBEAM_HOST; default 127.0.0.1)
  --data DIR            data directory (env HASHBEAM_DATA; default ./.hashbeam)
  --store KIND          lmdb (default) | memory | fs | redis://host:port/db (env HASHBEAM_STORE)
  --device PATH         load a custom device module (repeatable)
  --wallet PATH         node wallet (default DATA/wallet.json, created on first start)
  --wallet-kind KIND    rsa (default, RSA-4096 Arweave keyfile) | ed25519: the kind created on first start
  --operator ADDRESS    who may change settings with a signed POST /~meta@1.0/info
                        (env HASHBEAM_OPERATOR; default the node's own address)
  --signature-skew S    how far, in seconds, a privileged request's signature \`created\` may be
                        from this node's clock (env HASHBEAM_SIGNATURE_SKEW; default 300)
  --metrics WHO         who may read GET /metrics: local (default: loopback clients, else a
                        signed operator request) | public | operator | off (env HASHBEAM_METRICS)

connection options (what one client may cost; timeouts in seconds, decimals allowed):
  --headers-timeout S   the request line and headers must arrive within S (default 20)
  --idle-timeout S      close a kept-alive connection idle for S (default 5)
  --upload-idle-timeout S   close a request whose body stops arriving for S (default 30);
                        an upload that keeps moving has no time limit
  --body-limit N        largest request body read whole, in bytes (default 10485760; 413 beyond);
                        streamed blob uploads have --max-blob-bytes instead

cluster options (router@1.0, relay@1.0; docs/cluster.md):
  --router              relay every request that matches a route to the cluster's nodes; accept registrations
  --admit ADDRESS       a node address allowed to register with this router (repeatable)
  --node-ttl S          a registration's lifetime without a heartbeat (default 10)
  --check-peers RATE    re-execute this share (0–1] of the results the router relayed (docs/verification.md)
  --check-router URL    the router whose results --check-peers checks (default: --join)
  --check-secret HEX    the key that picks which results to check (default: random at each start)
  --relay-timeout S     how long one relayed attempt may wait for its answer (default 300)
  --join URL            register with the router at URL, heartbeat, deregister on shutdown
  --advertise URL       this node's URL as the router reaches it (default http://HOST:PORT)

store options (store@1.0):
  --max-blob-bytes N    largest blob a put accepts (default 8 GiB; 413 beyond)
  --store-open          let anyone delete from the store (default: only operator-signed requests)
  --trust ADDRESS       answer from ledger records this address signed exports of (repeatable; HASHBEAM_TRUST)
  --open-import         let anyone import chains (default: only operator-signed requests)

inference options (gpu-infer@1.0):
  --model NAME=PATH     serve a GGUF model under NAME (repeatable); none → a generated demo model
  --models-dir DIR      serve every *.gguf in DIR, named after the file
  --preload             load models at start instead of on first use
  --gpu MODE            auto (default) | cuda | vulkan | metal | off   (env HASHBEAM_GPU)
  --threads N           llama.cpp threads (default: cores − 1; env HASHBEAM_THREADS)
  --context-size N      tokens per context (default 2048)
  --batch-size N        prompt batch size (default 512)
  --flash-attention     enable flash attention (changes numerics; recorded in the profile)
  --max-queue N         requests waiting per model before 503 (default 8)
  --parallel N          requests one model serves at once, 1–8 (default 1); results stay bit-identical
  --parallel-mode M     auto (default) | batch | solo: how (docs/devices/gpu-infer.md)
  --max-tokens-cap N    largest max-tokens a request may ask for (default 2048)
  --max-choices N       most choices (n) one OpenAI request may ask for (default 8)
  --no-demo-model       do not generate the demo model when no model is configured

attestation options (attest@1.0):
  --receipts MODE       on-request (default: with attest=true) | always — signed inference receipts
  --trusted-measurement HEX   a software measurement verify trusts (repeatable)
`

/** Prints the usage (stdout for help, stderr for mistakes) and returns the exit code. */
export function usage(code: number): number {
  ;(code === 0 ? process.stdout : process.stderr).write(USAGE)
  return code
}
