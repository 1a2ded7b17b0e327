# ---------------------------------------------------------------------------------------------
# yml2sh runtime: how CircleCI 1.0 ran a command, the same in every generated script.
# Every user command runs in a fresh `bash --noprofile --norc` (no -e, no pipefail) that first
# sources the exported circle.yml environment and ~/.circlerc, then cds to its directory.
# State that must outlive one command (failures, stop flag, background pids) lives in files
# under $Y2S_STATE, so a Makefile can drive the same functions one recipe line at a time.
# ---------------------------------------------------------------------------------------------

y2s_color() {
  if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then
    Y2S_B=$'\033[1m' Y2S_R=$'\033[31m' Y2S_G=$'\033[32m' Y2S_Y=$'\033[33m' Y2S_D=$'\033[2m' Y2S_0=$'\033[0m'
  else
    Y2S_B='' Y2S_R='' Y2S_G='' Y2S_Y='' Y2S_D='' Y2S_0=''
  fi
}

y2s_say() { printf '%s\n' "$*"; }
y2s_note() { printf '%s%s%s\n' "$Y2S_D" "$*" "$Y2S_0"; }
y2s_warn() { printf '%swarning:%s %s\n' "$Y2S_Y" "$Y2S_0" "$*"; }
y2s_die() { printf '%serror:%s %s\n' "$Y2S_R" "$Y2S_0" "$*" >&2; exit 2; }

# The git-derived CircleCI variables; a value already in the environment wins (even an empty one).
y2s_default() {
  local name=$1 value=$2
  if [ -z "${!name+set}" ]; then
    printf -v "$name" '%s' "$value"
  fi
  # shellcheck disable=SC2163 # exporting the variable whose name is in $name
  export "$name"
}

y2s_git() { git -C "$Y2S_PROJECT_DIR" "$@" 2>/dev/null; }

y2s_init_env() {
  local origin owner repo
  origin=$(y2s_git config --get remote.origin.url) || origin=''
  owner='' repo=''
  if [ -n "$origin" ]; then
    local path=${origin%.git}
    path=${path%/}
    repo=${path##*/}
    path=${path%/*}
    owner=${path##*[/:]}
  fi
  [ -n "$repo" ] || repo=$(basename -- "$Y2S_PROJECT_DIR")
  [ -n "$owner" ] || owner=$(id -un 2>/dev/null || echo local)
  y2s_default CI true
  y2s_default CIRCLECI true
  y2s_default CIRCLE_SHA1 "$(y2s_git rev-parse --verify -q HEAD || true)"
  y2s_default CIRCLE_BRANCH "$(y2s_git symbolic-ref -q --short HEAD || true)"
  y2s_default CIRCLE_TAG "$(y2s_git describe --tags --exact-match HEAD || true)"
  y2s_default CIRCLE_PROJECT_USERNAME "$owner"
  y2s_default CIRCLE_PROJECT_REPONAME "$repo"
  case $origin in
    *github.com[:/]*) y2s_default CIRCLE_REPOSITORY_URL "https://github.com/$owner/$repo" ;;
    *) y2s_default CIRCLE_REPOSITORY_URL "$origin" ;;
  esac
  y2s_default CIRCLE_USERNAME "$(id -un 2>/dev/null || true)"
  y2s_default CIRCLE_NODE_TOTAL 1
  y2s_default CIRCLE_NODE_INDEX 0
  y2s_default CI_PULL_REQUEST ''
  y2s_default CI_PULL_REQUESTS ''
  y2s_default CIRCLE_COMPARE_URL ''
  # A local build number that counts up per project, like CircleCI's.
  local counter="${XDG_CACHE_HOME:-$HOME/.cache}/yml2sh/$owner/$repo/build-num" previous=0
  if [ -z "${CIRCLE_BUILD_NUM+set}" ]; then
    previous=$(cat "$counter" 2>/dev/null || echo 0)
    case $previous in '' | *[!0-9]*) previous=0 ;; esac
    if [ "$Y2S_MODE" = run ]; then
      mkdir -p "${counter%/*}" && echo $((previous + 1)) >"$counter"
    fi
  fi
  y2s_default CIRCLE_BUILD_NUM $((previous + 1))
  y2s_default CIRCLE_PREVIOUS_BUILD_NUM "$previous"
  y2s_default CIRCLE_ARTIFACTS "$(mktemp -d "${TMPDIR:-/tmp}/circle-artifacts.XXXXXXX")"
  y2s_default CIRCLE_TEST_REPORTS "$(mktemp -d "${TMPDIR:-/tmp}/circle-junit.XXXXXXX")"
  y2s_default CI_REPORTS "$CIRCLE_TEST_REPORTS"
  mkdir -p "$CIRCLE_ARTIFACTS" "$CIRCLE_TEST_REPORTS"
  case $CIRCLE_NODE_TOTAL in '' | *[!0-9]* | 0) y2s_die "CIRCLE_NODE_TOTAL must be a positive number" ;; esac
  case $CIRCLE_NODE_INDEX in '' | *[!0-9]*) y2s_die "CIRCLE_NODE_INDEX must be a number" ;; esac
  [ "$CIRCLE_NODE_INDEX" -lt "$CIRCLE_NODE_TOTAL" ] || y2s_die "CIRCLE_NODE_INDEX must be below CIRCLE_NODE_TOTAL"
}

# Matches NAME against patterns `exact:TEXT` or `re:ERE` (already anchored); true on any match.
y2s_matches() {
  local name=$1 pattern re
  shift
  for pattern in "$@"; do
    case $pattern in
      exact:*) [ "$name" = "${pattern#exact:}" ] && return 0 ;;
      re:*)
        re=${pattern#re:}
        [[ $name =~ $re ]] && return 0
        ;;
    esac
  done
  return 1
}

# general.branches: only/ignore apply to branch builds; tag builds always build.
y2s_branch_allowed() {
  [ -n "$CIRCLE_BRANCH" ] || return 0
  if [ ${#Y2S_BRANCHES_ONLY[@]} -gt 0 ] && ! y2s_matches "$CIRCLE_BRANCH" "${Y2S_BRANCHES_ONLY[@]}"; then
    return 1
  fi
  if [ ${#Y2S_BRANCHES_IGNORE[@]} -gt 0 ] && y2s_matches "$CIRCLE_BRANCH" "${Y2S_BRANCHES_IGNORE[@]}"; then
    return 1
  fi
  return 0
}

# A deployment subsection matches a branch build through its branch patterns, a tag build
# (a tag and no branch) through its tag patterns, and then only for its owner, if it names one.
# Usage: y2s_deployment_matches OWNER NBRANCH BRANCH_PATTERNS... TAG_PATTERNS...
y2s_deployment_matches() {
  local owner=$1 nbranch=$2
  shift 2
  local -a branch=("${@:1:nbranch}") tag=("${@:nbranch+1}")
  if [ -n "$owner" ] && [ "$owner" != "$CIRCLE_PROJECT_USERNAME" ]; then
    return 1
  fi
  if [ -n "$CIRCLE_BRANCH" ]; then
    [ ${#branch[@]} -gt 0 ] && y2s_matches "$CIRCLE_BRANCH" "${branch[@]}"
  elif [ -n "$CIRCLE_TAG" ]; then
    [ ${#tag[@]} -gt 0 ] && y2s_matches "$CIRCLE_TAG" "${tag[@]}"
  else
    return 1
  fi
}

y2s_selected() {
  [ -z "$Y2S_ONLY" ] && return 0
  case ",$Y2S_ONLY," in *",$1,"*) return 0 ;; esac
  return 1
}

# y2s_phase NAME stop|continue all-nodes|node-0 home|build: what the phase's commands default to.
y2s_phase() {
  Y2S_PHASE=$1 Y2S_ON_FAILURE=$2 Y2S_NODES=$3 Y2S_DIR=$4
  case $Y2S_MODE in
    list) y2s_say "${Y2S_B}$1${Y2S_0}" ;;
    *)
      if y2s_selected "$1"; then
        printf '\n%s==> %s%s\n' "$Y2S_B" "$1" "$Y2S_0"
      fi
      ;;
  esac
}

y2s_stopped() { [ -e "$Y2S_STATE/stopped" ] && [ "$Y2S_PHASE" != teardown ]; }

# Prints a command the way the log shows it: `$ ` before the first line, indented after.
y2s_show() {
  local first=1 line
  while IFS= read -r line || [ -n "$line" ]; do
    if [ $first = 1 ]; then
      printf '%s$ %s%s\n' "$Y2S_B" "$line" "$Y2S_0"
      first=0
    else
      printf '%s  %s%s\n' "$Y2S_B" "$line" "$Y2S_0"
    fi
  done <<<"$1"
}

y2s_record_failure() {
  printf '%s\t%s\t%s\t%s\n' "$Y2S_PHASE" "$1" "$2" "$3" >>"$Y2S_STATE/failed"
  if [ "$Y2S_ON_FAILURE" = stop ]; then
    : >"$Y2S_STATE/stopped"
  fi
}

# Splits the files matching GLOBS across nodes: sorted, unique, file i goes to node i mod N.
y2s_files_share() {
  local -a all=()
  local glob f i=0
  (
    shopt -s globstar nullglob
    for glob in "$@"; do
      # The glob is data from circle.yml: split on nothing but expand its wildcards.
      # shellcheck disable=SC2206
      all+=($glob)
    done
    printf '%s\n' "${all[@]}" | LC_ALL=C sort -u | while IFS= read -r f; do
      [ -n "$f" ] || continue
      if [ $((i % CIRCLE_NODE_TOTAL)) = "$CIRCLE_NODE_INDEX" ]; then
        printf '%q ' "$f"
      fi
      i=$((i + 1))
    done
  )
}

# Runs the bash in "$@" with CircleCI's no-output timeout: killed, with its whole process
# group, once it has printed nothing for TIMEOUT seconds. Sets Y2S_STATUS and Y2S_TIMED_OUT.
y2s_exec() {
  local timeout=$1
  shift
  local log="$Y2S_STATE/output" flag="$Y2S_STATE/timed-out" out_fd tee_pid pid watchdog
  : >"$log"
  rm -f "$flag"
  exec {out_fd}> >(tee -a "$log")
  tee_pid=$!
  set -m
  "$@" </dev/null >&"$out_fd" 2>&1 &
  pid=$!
  set +m
  Y2S_CURRENT=$pid
  (
    # Hold no end of tee's pipe, or tee would wait for this watchdog to end.
    exec {out_fd}>&-
    last=-1 quiet=0
    while sleep 1; do
      kill -0 "$pid" 2>/dev/null || exit 0
      size=$(wc -c <"$log")
      if [ "$size" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0 last=$size; fi
      if [ "$quiet" -ge "$timeout" ]; then
        : >"$flag"
        kill -TERM -- "-$pid" 2>/dev/null
        sleep 2
        kill -KILL -- "-$pid" 2>/dev/null
        exit 0
      fi
    done
  ) &
  watchdog=$!
  wait "$pid"
  Y2S_STATUS=$?
  Y2S_CURRENT=''
  kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  exec {out_fd}>&-
  # tee ends when the last writer closes; a process the command left running may hold the
  # pipe open, so wait a moment for the output to drain but never hang on it.
  local tries=0
  while kill -0 "$tee_pid" 2>/dev/null && [ $tries -lt 20 ]; do
    sleep 0.05
    tries=$((tries + 1))
  done
  Y2S_TIMED_OUT=0
  if [ -e "$flag" ]; then
    Y2S_TIMED_OUT=1
    Y2S_STATUS=124
  fi
}

# y2s_run LINE [--timeout SECONDS] [--pwd DIR] [--env 'NAME="value"']... [--files GLOB]...
#         [--background] [--all-nodes|--node-0], with the command text on standard input.
y2s_run() {
  local line=$1
  shift
  local timeout=600 dir='' background=0 nodes=$Y2S_NODES
  local -a envs=() globs=()
  while [ $# -gt 0 ]; do
    case $1 in
      --timeout) timeout=$2 && shift ;;
      --pwd) dir=$2 && shift ;;
      --env) envs+=("$2") && shift ;;
      --files) globs+=("$2") && shift ;;
      --background) background=1 ;;
      --all-nodes) nodes='all-nodes' ;;
      --node-0) nodes='node-0' ;;
      *) y2s_die "y2s_run: unknown option $1" ;;
    esac
    shift
  done
  Y2S_COUNT=$((Y2S_COUNT + 1))
  local id=$Y2S_COUNT
  local cmd title
  cmd=$(cat)
  title=${cmd%%$'\n'*}
  if [ "$Y2S_MODE" = list ]; then
    local notes=''
    [ "$timeout" = 600 ] || notes+=" timeout=${timeout}s"
    [ -z "$dir" ] || notes+=" pwd=$dir"
    [ $background = 0 ] || notes+=" background"
    [ "$nodes" = all-nodes ] || notes+=" node-0-only"
    [ ${#globs[@]} = 0 ] || notes+=" files=${globs[*]}"
    [ "$cmd" = "$title" ] || title+=" …"
    printf '  %-6s %s%s%s\n' "$line" "$title" "$Y2S_D" "${notes:+  [${notes# }]}$Y2S_0"
    return 0
  fi
  y2s_selected "$Y2S_PHASE" || return 0
  if y2s_stopped; then
    return 0
  fi
  if [ "$nodes" = node-0 ] && [ "$CIRCLE_NODE_INDEX" != 0 ]; then
    y2s_note "(node 0 only, this is node $CIRCLE_NODE_INDEX) skipped: $title"
    return 0
  fi
  if [ ${#globs[@]} -gt 0 ]; then
    local share
    share=$(cd -- "$Y2S_BUILD_DIR" && y2s_files_share "${globs[@]}")
    if [ -z "$share" ]; then
      y2s_note "(no files for node $CIRCLE_NODE_INDEX) skipped: $title"
      return 0
    fi
    cmd="$cmd ${share% }"
  fi
  y2s_show "$cmd"
  if [ "$Y2S_MODE" = dry-run ]; then
    return 0
  fi
  # The prelude runs in the command's own shell before it, through BASH_ENV, so the command
  # text reaches bash exactly as written in circle.yml.
  local prelude="$Y2S_STATE/prelude.$id" assignment
  {
    printf '%s\n' 'unset BASH_ENV'
    # shellcheck disable=SC2016 # these lines are for the command's shell to expand
    printf '%s\n' '[ -f "$Y2S_ENV_FILE" ] && . "$Y2S_ENV_FILE"' '[ -f ~/.circlerc ] && . ~/.circlerc'
    if [ "$Y2S_DIR" = home ]; then
      printf '%s\n' 'cd ~ || exit 1'
    else
      printf 'cd %q || exit 1\n' "$Y2S_BUILD_DIR"
    fi
    [ -z "$dir" ] || printf 'cd "%s" || exit 1\n' "$dir"
    for assignment in "${envs[@]}"; do
      printf 'export %s\n' "$assignment"
    done
  } >"$prelude"
  local start=$SECONDS
  if [ $background = 1 ]; then
    local out="$CIRCLE_ARTIFACTS/stdout_${id}_$$.txt"
    set -m
    BASH_ENV=$prelude nohup bash --noprofile --norc -c "$cmd" </dev/null >"$out" 2>&1 &
    echo $! >>"$Y2S_STATE/background"
    set +m
    y2s_note "    (started in the background, pid $!, output in $out)"
    return 0
  fi
  y2s_exec "$timeout" env BASH_ENV="$prelude" bash --noprofile --norc -c "$cmd"
  local took=$((SECONDS - start))
  if [ "$Y2S_STATUS" = 0 ]; then
    y2s_note "    (${took}s)"
  elif [ "$Y2S_TIMED_OUT" = 1 ]; then
    printf '%s    timed out: no output for %ss (%ss)%s\n' "$Y2S_R" "$timeout" "$took" "$Y2S_0"
    y2s_record_failure "$line" "$title" "timed out after ${timeout}s without output"
  else
    printf '%s    exit %s (%ss)%s\n' "$Y2S_R" "$Y2S_STATUS" "$took" "$Y2S_0"
    y2s_record_failure "$line" "$title" "exit $Y2S_STATUS"
  fi
}

# CircleCI's own steps, as far as a local build can take them.
y2s_builtin() {
  [ "$Y2S_MODE" = list ] && { y2s_note "  ($1)"; return 0; }
  y2s_selected "$Y2S_PHASE" || return 0
  y2s_stopped && return 0
  y2s_note "($1)"
}

# Writes machine.environment (standard input) where every later command sources it.
y2s_export_env() {
  local text
  text=$(cat)
  [ "$Y2S_MODE" = list ] && return 0
  y2s_stopped && return 0
  printf '%s\n' "$text" >"$Y2S_ENV_FILE"
}

y2s_timezone() {
  y2s_builtin "timezone $1: exported as TZ"
  [ "$Y2S_MODE" = run ] || return 0
  y2s_stopped && return 0
  printf 'export TZ=%q\n' "$1" >>"$Y2S_ENV_FILE"
}

y2s_hosts() {
  y2s_builtin "hosts: $*"
  [ "$Y2S_MODE" = run ] || return 0
  y2s_stopped && return 0
  while [ $# -ge 2 ]; do
    if ! grep -qE "^[^#]*[[:space:]]$1([[:space:]]|\$)" /etc/hosts 2>/dev/null; then
      y2s_warn "machine.hosts: $1 is not in /etc/hosts; add it with: echo '$2 $1' | sudo tee -a /etc/hosts"
    fi
    shift 2
  done
}

y2s_language() {
  local version=''
  case $1 in
    ruby | node | python | php | java | go) version=$("$1" --version 2>&1 | head -n 1) || version='' ;;
  esac
  y2s_builtin "machine.$1.version $2 requested; using ${version:-no $1 found on PATH}"
}

y2s_services() {
  y2s_builtin "services: $*"
}

y2s_inferred() {
  y2s_builtin "CircleCI would have inferred $1 commands here; yml2sh does not run them (write them under $1.override)"
}

y2s_cache() {
  local what=$1
  shift
  if [ $# -gt 0 ]; then
    y2s_builtin "$what: $*"
  fi
}

y2s_kill_background() {
  local pid
  [ -f "$Y2S_STATE/background" ] || return 0
  while read -r pid; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done <"$Y2S_STATE/background"
  rm -f "$Y2S_STATE/background"
}

y2s_copy_artifacts() {
  local path src
  for path in "$@"; do
    case $path in
      \~) src=$HOME ;;
      \~/*) src="$HOME/${path:2}" ;;
      /*) src=$path ;;
      *) src="$Y2S_BUILD_DIR/$path" ;;
    esac
    if [ -e "$src" ]; then
      cp -R -- "$src" "$CIRCLE_ARTIFACTS/" && y2s_note "(artifact $path copied to \$CIRCLE_ARTIFACTS)"
    else
      y2s_warn "artifact $path does not exist"
    fi
  done
}

y2s_summary() {
  local phase line title why
  printf '\n%s==> summary%s\n' "$Y2S_B" "$Y2S_0"
  if [ -s "$Y2S_STATE/failed" ]; then
    while IFS=$'\t' read -r phase line title why; do
      printf '%sFAILED%s  %-12s %s:%s  %s (%s)\n' "$Y2S_R" "$Y2S_0" "$phase" "$Y2S_SOURCE" "$line" "$title" "$why"
    done <"$Y2S_STATE/failed"
    printf '%sbuild failed%s\n' "$Y2S_R" "$Y2S_0"
    return 1
  fi
  printf '%sbuild succeeded%s\n' "$Y2S_G" "$Y2S_0"
  return 0
}

y2s_usage() {
  cat <<USAGE
Usage: ${0##*/} [OPTION]...
Runs the build of $Y2S_SOURCE as CircleCI 1.0 did: phases in order, every command in a fresh
bash, setup phases stopping at the first failure, every test command running, deployment only
after a green build and only with --deploy.

Options:
  --list                 list the phases and commands with their circle.yml lines; run nothing
  --dry-run              print what would run, in order, with conditions resolved; run nothing
  --only PHASE[,PHASE]   run only these phases: $Y2S_PHASES
  --deploy               run the first matching deployment subsection after a green build
  --project-dir DIR      the checkout to build (default: the git top level of the current directory)
  -h, --help             show this help

CircleCI's variables are derived from git; any of them set in the environment wins, e.g.
  CIRCLE_BRANCH=release ${0##*/} --dry-run
  CIRCLE_NODE_TOTAL=3 CIRCLE_NODE_INDEX=1 ${0##*/}
NO_COLOR=1 turns colour off.
USAGE
}

y2s_on_exit() {
  local status=$?
  if [ -n "${Y2S_CURRENT:-}" ]; then
    kill -TERM -- "-$Y2S_CURRENT" 2>/dev/null
  fi
  if [ -n "${Y2S_STATE:-}" ] && [ -d "$Y2S_STATE" ]; then
    y2s_kill_background
    rm -rf -- "$Y2S_STATE"
  fi
  exit "$status"
}

y2s_interrupt() {
  trap - INT TERM
  printf '\n%sinterrupted%s\n' "$Y2S_R" "$Y2S_0" >&2
  exit 130
}

y2s_main() {
  Y2S_MODE=run Y2S_ONLY='' Y2S_DEPLOY=0 Y2S_PROJECT_DIR='' Y2S_STATE='' Y2S_PHASE=''
  Y2S_ON_FAILURE=stop Y2S_CURRENT='' Y2S_NODES=all-nodes Y2S_DIR=build Y2S_COUNT=0
  y2s_color
  while [ $# -gt 0 ]; do
    case $1 in
      -h | --help) y2s_usage && exit 0 ;;
      --list) Y2S_MODE=list ;;
      --dry-run) Y2S_MODE=dry-run ;;
      --only) [ $# -ge 2 ] || y2s_die "--only needs a phase name" && Y2S_ONLY=$2 && shift ;;
      --only=*) Y2S_ONLY=${1#*=} ;;
      --deploy) Y2S_DEPLOY=1 ;;
      --project-dir) [ $# -ge 2 ] || y2s_die "--project-dir needs a directory" && Y2S_PROJECT_DIR=$2 && shift ;;
      --project-dir=*) Y2S_PROJECT_DIR=${1#*=} ;;
      *) y2s_die "unknown option '$1' (see --help)" ;;
    esac
    shift
  done
  local phase
  for phase in ${Y2S_ONLY//,/ }; do
    case " $Y2S_PHASES " in *" $phase "*) ;; *) y2s_die "--only: unknown phase '$phase' (phases: $Y2S_PHASES)" ;; esac
  done

  if [ "$Y2S_MODE" = list ]; then
    y2s_plan
    y2s_list_deployments
    return 0
  fi

  if [ -z "$Y2S_PROJECT_DIR" ]; then
    Y2S_PROJECT_DIR=$(git rev-parse --show-toplevel 2>/dev/null) || Y2S_PROJECT_DIR=$PWD
  fi
  [ -d "$Y2S_PROJECT_DIR" ] || y2s_die "no such project directory: $Y2S_PROJECT_DIR"
  Y2S_PROJECT_DIR=$(cd -- "$Y2S_PROJECT_DIR" && pwd)
  Y2S_BUILD_DIR=$Y2S_PROJECT_DIR${Y2S_BUILD_SUBDIR:+/$Y2S_BUILD_SUBDIR}
  Y2S_STATE=$(mktemp -d "${TMPDIR:-/tmp}/yml2sh.XXXXXXX")
  Y2S_ENV_FILE=$Y2S_STATE/environment
  export Y2S_ENV_FILE
  trap y2s_on_exit EXIT
  trap y2s_interrupt INT TERM
  y2s_init_env

  printf '%syml2sh build of %s%s  branch=%s tag=%s sha=%s node=%s/%s\n' "$Y2S_B" "$Y2S_SOURCE" "$Y2S_0" \
    "${CIRCLE_BRANCH:-(none)}" "${CIRCLE_TAG:-(none)}" "${CIRCLE_SHA1:0:12}" "$CIRCLE_NODE_INDEX" "$CIRCLE_NODE_TOTAL"
  if ! y2s_branch_allowed; then
    y2s_say "branch $CIRCLE_BRANCH is filtered out by general.branches in $Y2S_SOURCE: nothing to build"
    return 0
  fi
  [ -d "$Y2S_BUILD_DIR" ] || y2s_die "the build directory $Y2S_BUILD_DIR (general.build_dir) does not exist"
  [ "$Y2S_MODE" = dry-run ] || y2s_note "artifacts: $CIRCLE_ARTIFACTS  test reports: $CIRCLE_TEST_REPORTS"

  y2s_plan
  y2s_deploy
  y2s_teardown
  y2s_kill_background
  if [ "$Y2S_MODE" = run ] && [ ${#Y2S_ARTIFACT_PATHS[@]} -gt 0 ]; then
    y2s_copy_artifacts "${Y2S_ARTIFACT_PATHS[@]}"
  fi
  [ "$Y2S_MODE" = run ] || return 0
  y2s_summary
}

# Deployment: only after a green build, only on node 0, the first matching subsection only.
y2s_deploy() {
  y2s_phase deployment stop node-0 build
  y2s_selected deployment || return 0
  local pick
  pick=$(y2s_pick_deployment)
  if [ -s "$Y2S_STATE/failed" ]; then
    y2s_note "(no deployment: the build failed)"
  elif [ "$CIRCLE_NODE_INDEX" != 0 ]; then
    y2s_note "(no deployment on node $CIRCLE_NODE_INDEX: deployment runs on node 0)"
  elif [ -z "$pick" ]; then
    y2s_note "(no deployment subsection matches branch=${CIRCLE_BRANCH:-(none)} tag=${CIRCLE_TAG:-(none)} owner=$CIRCLE_PROJECT_USERNAME)"
  elif [ "$Y2S_DEPLOY" = 0 ] && [ "$Y2S_MODE" = run ]; then
    y2s_say "deployment '${Y2S_DEPLOYMENT_NAMES[pick]}' matches and would run; pass --deploy to run it"
  else
    y2s_say "deployment '${Y2S_DEPLOYMENT_NAMES[pick]}'"
    "y2s_deployment_$pick"
  fi
}
