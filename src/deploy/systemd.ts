/**
 * What `aixcl stack export systemd` writes: a hardened systemd service running `aixcl serve`.
 * Every directive that takes something away from the service is one that node and llama.cpp do
 * not need; the ones left out are left out on purpose (see the comments in the unit).
 */
import type { DeployFile } from "./types.js";

export interface SystemdExportOptions {
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of aixcl's CLI entry point (dist/cli/main.js). */
  main: string;
  /** Profile the service runs. */
  profile: "core" | "bld" | "sys";
  /** Port it listens on, on 127.0.0.1. */
  port: number;
}

const UNIT_NAME = "aixcl.service";

/** systemd quotes a word with spaces in double quotes; paths with quotes are refused upstream. */
const word = (value: string): string => (/[\s"'\\]/.test(value) ? JSON.stringify(value) : value);

function systemdUnit(options: SystemdExportOptions): string {
  return `# aixcl as a systemd service, written by \`aixcl stack export systemd\` (docs/deployment.md).
#   sudo cp ${UNIT_NAME} /etc/systemd/system/ && sudo systemctl daemon-reload
#   sudo systemctl enable --now aixcl
[Unit]
Description=aixcl: local-first LLM server (Ollama and OpenAI APIs)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
ExecStart=${word(options.node)} ${word(options.main)} serve
# A user made for the service at each start, owning nothing outside its state directory.
DynamicUser=yes
# AIXCL_HOME: /var/lib/aixcl (0700), kept across restarts and upgrades. HOME too, for the
# libraries that keep a cache under it.
StateDirectory=aixcl
StateDirectoryMode=0700
Environment=AIXCL_HOME=%S/aixcl
Environment=HOME=%S/aixcl
Environment=AIXCL_PROFILE=${options.profile}
Environment=AIXCL_HOST=127.0.0.1
Environment=AIXCL_PORT=${options.port}
UMask=0077

# aixcl drains its streams and stops its runners on SIGTERM (up to 10 s): signal the server
# alone first, then everything left in the group after the timeout.
KillMode=mixed
TimeoutStopSec=30s
Restart=on-failure
RestartSec=5s
LimitNOFILE=65536

NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
# Models under a home directory (models.path: ~/.ollama/models) need ProtectHome=read-only.
ProtectHome=yes
PrivateTmp=yes
# No device nodes: CPU inference. For a GPU, replace with DeviceAllow= lines for its devices
# (/dev/nvidia*, /dev/dri/*) and PrivateDevices=no.
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
# AF_NETLINK: the Host-header check lists the machine's addresses (getifaddrs).
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
# Not set: MemoryDenyWriteExecute (V8's JIT writes and then runs machine code) and
# ProcSubset=pid (it hides /proc/cpuinfo and /proc/meminfo, which Node and llama.cpp read to
# size threads and memory).

[Install]
WantedBy=multi-user.target
`;
}

/** Every file of a systemd export. */
export function systemdFiles(options: SystemdExportOptions): DeployFile[] {
  return [{ path: UNIT_NAME, content: systemdUnit(options), mode: 0o644 }];
}
