/**
 * `wisdom completion bash|zsh|fish`: shell completion scripts, generated from the same flag lists the
 * commands parse, so they cannot drift.
 * @module
 */
import { EXIT, type Io, UsageError } from "../shared/cli/io.ts";
import { CONFIG_KEYS, GUARD_KEYS } from "../shared/config/schema.ts";

export const COMPLETION_HELP = `Usage: wisdom completion bash|zsh|fish

Print a shell completion script. For example:
  bash:  source <(wisdom completion bash)       or save it under /etc/bash_completion.d/wisdom
  zsh:   wisdom completion zsh > "\${fpath[1]}/_wisdom"
  fish:  wisdom completion fish > ~/.config/fish/completions/wisdom.fish
`;

/** Subcommands and their flags (without values). */
export function commandFlags(): Record<string, string[]> {
  return {
    serve: ["--config", ...CONFIG_KEYS.filter((k) => !GUARD_KEYS.has(k)).map((k) => `--${k.replaceAll("_", "-")}`), "--help"],
    guard: ["--config", ...CONFIG_KEYS.map((k) => `--${k.replaceAll("_", "-")}`), "--help"],
    connect: ["--effort", "--timeout", "--max-difficulty", "--threads", "--mode", "--quiet", "--help"],
    tunnel: ["--listen", "--to", "--effort", "--timeout", "--max-difficulty", "--threads", "--mode", "--quiet", "--help"],
    fetch: ["--json", "--count", "--timeout", "--max-difficulty", "--threads", "--mode", "--quiet", "--help"],
    bench: ["--json", "--seconds", "--threads", "--only", "--help"],
    load: ["--profile", "--rest", "--duration", "--server-pid", "--metrics", "--rate", "--legit-threads", "--legit-timeout", "--spam-threads", "--spam-lanes", "--slowloris", "--flood-width", "--sources", "--json", "--help"],
    keygen: ["--help"],
    version: ["--json", "--help"],
    completion: ["bash", "zsh", "fish"],
    healthcheck: ["--help"],
  };
}

const VALUES: Record<string, string[]> = {
  "--log-format": ["pretty", "json"],
  "--log-level": ["silent", "error", "warn", "info", "debug"],
  "--mode": ["auto", "same", "reconnect"],
  "--defence": ["on", "off"],
  "--adaptive": ["on", "off"],
  "--proxy-protocol": ["on", "off"],
  "--debug-runtime": ["on", "off"],
  "--upstream-proxy-protocol": ["off", "v2"],
  "--only": ["solver", "verify", "mint", "codec"],
  "--profile": ["legit", "flood", "slowloris", "junk", "replay", "forge", "wrong", "spam"],
};

function bash(): string {
  const f = commandFlags();
  const cases = Object.entries(f).map(([c, flags]) => `    ${c}) opts="${flags.join(" ")}" ;;`).join("\n");
  const vals = Object.entries(VALUES).map(([flag, v]) => `    ${flag}) COMPREPLY=( $(compgen -W "${v.join(" ")}" -- "$cur") ); return ;;`).join("\n");
  return `# bash completion for wisdom
_wisdom() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${Object.keys(f).join(" ")} --help --version" -- "$cur") )
    return
  fi
  case "$prev" in
${vals}
    --config|--secret-file|--keys-file) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -F _wisdom wisdom
`;
}

function zsh(): string {
  const f = commandFlags();
  const spec = (fl: string) => {
    if (!fl.startsWith("--")) return null;
    const v = VALUES[fl];
    return v ? `'${fl}[${fl.slice(2)}]:value:(${v.join(" ")})'` : `'${fl}[${fl.slice(2)}]'`;
  };
  const sub = Object.entries(f)
    .map(([c, flags]) => {
      const words = flags.filter((x) => !x.startsWith("-"));
      const args = flags.map(spec).filter((x): x is string => x !== null);
      if (words.length > 0) args.push(`'1:argument:(${words.join(" ")})'`);
      return `    (${c}) _arguments ${args.join(" ")} ;;`;
    })
    .join("\n");
  return `#compdef wisdom
# zsh completion for wisdom
_wisdom() {
  local -a commands
  commands=(${Object.keys(f).join(" ")})
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  shift words
  (( CURRENT-- ))
  case "$words[1]" in
${sub}
  esac
}
_wisdom "$@"
`;
}

function fish(): string {
  const f = commandFlags();
  const lines = [`# fish completion for wisdom`, `complete -c wisdom -f`];
  lines.push(`complete -c wisdom -n "__fish_use_subcommand" -a "${Object.keys(f).join(" ")}"`);
  for (const [c, flags] of Object.entries(f)) {
    for (const fl of flags) {
      if (!fl.startsWith("--")) {
        lines.push(`complete -c wisdom -n "__fish_seen_subcommand_from ${c}" -a "${fl}"`);
        continue;
      }
      const v = VALUES[fl];
      lines.push(`complete -c wisdom -n "__fish_seen_subcommand_from ${c}" -l ${fl.slice(2)}${v ? ` -x -a "${v.join(" ")}"` : ""}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function runCompletion(argv: string[], io: Io): number {
  if (argv.includes("-h") || argv.includes("--help")) {
    io.stdout(COMPLETION_HELP);
    return EXIT.OK;
  }
  const shell = argv[0];
  if (argv.length !== 1 || !shell || !["bash", "zsh", "fish"].includes(shell)) throw new UsageError("completion takes one of bash, zsh, fish");
  io.stdout(shell === "bash" ? bash() : shell === "zsh" ? zsh() : fish());
  return EXIT.OK;
}
