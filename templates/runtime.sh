# ---------------------------------------------------------------------------------------------
# yml2sh runtime: how CircleCI 1.0 ran a command, the same in every generated script.
# Every user command runs in a fresh `bash --noprofile --norc` (no -e, no pipefail) that first
# sources the exported circle.yml environment and ~/.circlerc, then cds to its directory.
# State that must outlive one command (failures, stop flag, background pids) lives in files
# under $Y2S_STATE, so a Makefile can drive the same functions one recipe line at a time.
#
# The contract: the names this file uses without defining them (src/emit/runtime.rs checks it).
#   set by the data block (templates/build-data.sh.j2):
#     Y2S_SOURCE Y2S_BUILD_SUBDIR Y2S_NODE_TOTAL Y2S_PHASES Y2S_BRANCHES_ONLY Y2S_BRANCHES_IGNORE
#     Y2S_ARTIFACT_PATHS Y2S_NEEDS_DOCKER Y2S_NEEDS_CONTAINERS Y2S_SERVICE_NAMES
#     Y2S_DEPLOYMENT_NAMES Y2S_DEPLOYMENT_SECRETS y2s_pick_deployment
#   defined by the driver (build.sh.j2; the Makefile's runtime defines y2s_deployment_N only):
#     y2s_plan y2s_list_deployments y2s_teardown y2s_deployment_N
#   exported by the caller: Y2S_STATE Y2S_MAKEFILE Y2S_MAKE_PID (the Makefile)
# ---------------------------------------------------------------------------------------------

# y2s_check_bash MAJOR MINOR: the runtime needs bash 4.4 or newer (macOS ships 3.2); checked
# first, before anything an older bash would stumble on (declare -g).
y2s_check_bash() {
  if [ "$1" -lt 4 ] || { [ "$1" = 4 ] && [ "$2" -lt 4 ]; }; then
    printf 'error: this build needs bash 4.4 or newer; this is bash %s.%s (on macOS: brew install bash)\n' "$1" "$2" >&2
    exit 2
  fi
}
y2s_check_bash "${BASH_VERSINFO[0]}" "${BASH_VERSINFO[1]}"

# The data block's settings, declared (not set) so that bash and shellcheck know them.
declare -g Y2S_SOURCE Y2S_BUILD_SUBDIR Y2S_NODE_TOTAL Y2S_PHASES Y2S_NEEDS_DOCKER Y2S_NEEDS_CONTAINERS Y2S_SERVICE_NAMES
declare -ga Y2S_BRANCHES_ONLY Y2S_BRANCHES_IGNORE Y2S_ARTIFACT_PATHS Y2S_DEPLOYMENT_NAMES Y2S_DEPLOYMENT_SECRETS

y2s_color() {
  if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-}" != dumb ]; then
    Y2S_B=$'\033[1m' Y2S_R=$'\033[31m' Y2S_G=$'\033[32m' Y2S_Y=$'\033[33m' Y2S_D=$'\033[2m' Y2S_0=$'\033[0m'
  else
    Y2S_B='' Y2S_R='' Y2S_G='' Y2S_Y='' Y2S_D='' Y2S_0=''
  fi
}

y2s_say() { printf '%s\n' "$*"; }
# A pattern matching one control character but tab: what the log shows as `?`.
Y2S_CONTROL=$'[\001-\010\013-\037\177]'
# Sleeps without a process: a read that times out on a pipe nobody writes to, opened once. The
# runtime's own waits then never depend on what `sleep` on PATH is (tests put stand-ins there).
y2s_sleep() {
  if [ -z "${Y2S_SLEEP_FD:-}" ]; then
    if [ -n "${Y2S_STATE:-}" ] && [ -p "$Y2S_STATE/sleep" ]; then
      exec {Y2S_SLEEP_FD}<>"$Y2S_STATE/sleep"
    else
      exec {Y2S_SLEEP_FD}<> <(:)
    fi
  fi
  read -rt "$1" -u "$Y2S_SLEEP_FD" _ || :
}
y2s_note() { printf '%s%s%s\n' "$Y2S_D" "$*" "$Y2S_0"; }
# y2s_header NAME [NOTE]: the line that opens a phase (or the summary) in the log.
y2s_header() { printf '\n%s==> %s%s%s\n' "$Y2S_B" "$1" "$Y2S_0" "${2:+ $2}"; }
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
  # yml2sh --nodes N sets Y2S_NODE_TOTAL in the build's data (CircleCI's web UI setting).
  y2s_default CIRCLE_NODE_TOTAL "${Y2S_NODE_TOTAL:-1}"
  y2s_default CIRCLE_NODE_INDEX 0
  y2s_default CI_PULL_REQUEST ''
  y2s_default CI_PULL_REQUESTS ''
  y2s_default CIRCLE_COMPARE_URL ''
  # A local build number that counts up per project, like CircleCI's.
  local counter="$Y2S_STORE/$owner/$repo/build-num"
  Y2S_PREVIOUS=0
  if [ -z "${CIRCLE_BUILD_NUM+set}" ]; then
    if [ "$Y2S_MODE" = run ]; then
      y2s_locked "$counter.lock" y2s_count_build "$counter" ||
        y2s_die "cannot count the build in $counter (lock ${counter}.lock)"
    else
      y2s_read_build_num "$counter"
    fi
  fi
  y2s_default CIRCLE_BUILD_NUM $((Y2S_PREVIOUS + 1))
  y2s_default CIRCLE_PREVIOUS_BUILD_NUM "$Y2S_PREVIOUS"
  # Artifacts and test reports outlive the build, as CircleCI's did: a real run keeps them in
  # the store, one directory per build number (never in $TMPDIR, which a build leaves as it found
  # it); a dry run's go with its state directory.
  local kept="$Y2S_STATE/build"
  if [ "$Y2S_MODE" = run ]; then
    kept="$Y2S_STORE/$owner/$repo/builds/$CIRCLE_BUILD_NUM"
    if [ -e "$kept" ]; then
      # CIRCLE_BUILD_NUM given twice: a directory of its own, never a previous build's.
      if ! mkdir -p -- "${kept%/*}" || ! kept=$(mktemp -d "$kept-XXXXXX"); then
        y2s_die "cannot create a directory for the build's artifacts next to $kept"
      fi
    fi
  fi
  y2s_default CIRCLE_ARTIFACTS "$kept/artifacts"
  y2s_default CIRCLE_TEST_REPORTS "$kept/test-reports"
  y2s_default CI_REPORTS "$CIRCLE_TEST_REPORTS"
  mkdir -p -- "$CIRCLE_ARTIFACTS" "$CIRCLE_TEST_REPORTS" ||
    y2s_die "cannot create CIRCLE_ARTIFACTS ($CIRCLE_ARTIFACTS) or CIRCLE_TEST_REPORTS ($CIRCLE_TEST_REPORTS)"
  case $CIRCLE_NODE_TOTAL in '' | *[!0-9]* | 0) y2s_die "CIRCLE_NODE_TOTAL must be a positive number" ;; esac
  case $CIRCLE_NODE_INDEX in '' | *[!0-9]*) y2s_die "CIRCLE_NODE_INDEX must be a number" ;; esac
  [ "$CIRCLE_NODE_INDEX" -lt "$CIRCLE_NODE_TOTAL" ] || y2s_die "CIRCLE_NODE_INDEX must be below CIRCLE_NODE_TOTAL"
}

# y2s_locked LOCK FUNCTION ARG...: FUNCTION under an exclusive lock, so that two builds at once
# never interleave: flock(1) on LOCK when it is installed, else a directory LOCK.d made with
# mkdir (atomic), waited for up to 30 s and then taken over (its owner was killed). False when
# the lock cannot be made at all (an unwritable directory), never a wait without end.
y2s_locked() {
  local lock=$1 status tries=0
  shift
  mkdir -p -- "${lock%/*}" || return 1
  if command -v flock >/dev/null 2>&1; then
    {
      flock -w 30 9 || return 1
      "$@"
      status=$?
    } 9>>"$lock"
    return $status
  fi
  until mkdir -- "$lock.d" 2>/dev/null; do
    if [ ! -d "$lock.d" ]; then
      # Not there, yet not made: an unwritable directory, which no waiting mends (unless its
      # owner removed it just now: one more try).
      mkdir -- "$lock.d" 2>/dev/null && break
      return 1
    fi
    tries=$((tries + 1))
    if [ $tries -ge 300 ]; then
      rmdir -- "$lock.d" 2>/dev/null
      tries=0
    fi
    y2s_sleep 0.1
  done
  "$@"
  status=$?
  rmdir -- "$lock.d"
  return $status
}

y2s_read_build_num() {
  Y2S_PREVIOUS=0
  [ -f "$1" ] && read -r Y2S_PREVIOUS <"$1"
  case $Y2S_PREVIOUS in '' | *[!0-9]*) Y2S_PREVIOUS=0 ;; esac
}

# Under the lock: read the last number, write the next through a rename (never half a number).
y2s_count_build() {
  y2s_read_build_num "$1"
  printf '%s\n' $((Y2S_PREVIOUS + 1)) >"$1.$$" && mv -f -- "$1.$$" "$1"
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
  # Owners compare ignoring case, as GitHub logins do (the IR's rule, ir::Deployment::owner).
  if [ -n "$owner" ] && [ "${owner,,}" != "${CIRCLE_PROJECT_USERNAME,,}" ]; then
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

# True when the current phase's built-in setup (environment, timezone, hosts, services, cache
# restore) must run: its phase is selected, or --only selected a later phase that needs it.
y2s_setup_wanted() {
  y2s_selected "$Y2S_PHASE" && return 0
  local p later=0
  for p in $Y2S_PHASES; do
    [ $later = 1 ] && y2s_selected "$p" && return 0
    [ "$p" = "$Y2S_PHASE" ] && later=1
  done
  return 1
}

# y2s_phase NAME stop|continue all-nodes|node-0 home|build: what the phase's commands default to.
# A phase --only leaves out gets its header only if its built-in setup runs (Y2S_PENDING); one
# after a failed setup command says it is skipped, and so does each of its commands.
y2s_phase() {
  Y2S_PHASE=$1 Y2S_ON_FAILURE=$2 Y2S_NODES=$3 Y2S_DIR=$4 Y2S_PENDING=''
  case $Y2S_MODE in
    list) y2s_say "${Y2S_B}$1${Y2S_0}" ;;
    *)
      if ! y2s_selected "$1"; then
        Y2S_PENDING="(setup only: --only $Y2S_ONLY)"
      elif y2s_stopped; then
        y2s_header "$1" "(skipped: $(<"$Y2S_STATE/stopped"))"
      else
        y2s_header "$1"
      fi
      ;;
  esac
}

y2s_stopped() { [ -e "$Y2S_STATE/stopped" ] && [ "$Y2S_PHASE" != teardown ]; }

# A command that does not run: said, and counted in the summary.
y2s_skip() {
  Y2S_SKIPPED=$((Y2S_SKIPPED + 1))
  y2s_note "skipped${2:+ ($2)}: $1"
}

# Prints a command the way the log shows it: `$ ` before the first line, indented after.
y2s_show() {
  local first=1 line v
  local -a values=()
  [ ! -s "$Y2S_STATE/mask" ] || mapfile -t values <"$Y2S_STATE/mask"
  while IFS= read -r line || [ -n "$line" ]; do
    for v in "${values[@]}"; do
      line=${line//"$v"/***}
    done
    # Control characters in a command (an escape sequence) are shown, never obeyed.
    line=${line//$Y2S_CONTROL/?}
    if [ $first = 1 ]; then
      printf '%s$ %s%s\n' "$Y2S_B" "$line" "$Y2S_0"
      first=0
    else
      printf '%s  %s%s\n' "$Y2S_B" "$line" "$Y2S_0"
    fi
  done <<<"$1"
}

# y2s_record_failure WHERE TITLE WHY: WHERE is the command's circle.yml line (0: none of its
# own), or "inferred from FILE" for a command inference added.
y2s_record_failure() {
  local at stopped
  case $1 in
    0) at=$Y2S_SOURCE stopped="failed, $Y2S_SOURCE" ;;
    *[!0-9]*) at=$1 stopped="failed, $1" ;;
    *) at=$Y2S_SOURCE:$1 stopped="failed at line $1" ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$Y2S_PHASE" "$at" "$2" "$3" >>"$Y2S_STATE/failed"
  if [ "$Y2S_ON_FAILURE" = stop ] && [ ! -e "$Y2S_STATE/stopped" ]; then
    printf '%s\n' "$Y2S_PHASE $stopped" >"$Y2S_STATE/stopped"
  fi
}

# Splits the files matching GLOBS across nodes: sorted, unique, file i goes to node i mod N.
y2s_files_share() {
  local -a all=()
  local glob f i=0
  (
    shopt -s globstar nullglob
    # The glob is data from circle.yml: split on nothing but expand its wildcards.
    IFS=
    for glob in "$@"; do
      # shellcheck disable=SC2206
      all+=($glob)
    done
    unset IFS
    printf '%s\n' "${all[@]}" | LC_ALL=C sort -u | while IFS= read -r f; do
      [ -n "$f" ] || continue
      if [ $((i % CIRCLE_NODE_TOTAL)) = "$CIRCLE_NODE_INDEX" ]; then
        printf '%q ' "$f"
      fi
      i=$((i + 1))
    done
  )
}

# The pipes of a build, made once (mkfifo is the only process they cost): $Y2S_PIPE carries a
# foreground command's output to the `cat` that copies it to the build's output, and tells the
# warden by its modification time when the command last printed; $Y2S_STATE/sleep is never
# written, so a read with a timeout on it is a sleep without a process; $Y2S_STATE/control
# carries the build's messages to the warden. And $Y2S_STATE/prelude, every command's BASH_ENV:
# it runs the command's prelude, given in the environment (y2s_prelude).
y2s_pipes() {
  [ -n "${Y2S_PIPE:-}" ] || Y2S_PIPE=$Y2S_STATE/pipe.0
  [ -p "$Y2S_PIPE" ] && [ -p "$Y2S_STATE/sleep" ] && [ -f "$Y2S_STATE/prelude" ] && return 0
  printf '%s\n' 'unset BASH_ENV' "eval \"\$Y2S_PRELUDE\"" >"$Y2S_STATE/prelude" ||
    y2s_die "cannot write in $Y2S_STATE"
  mkfifo -- "$Y2S_PIPE" "$Y2S_STATE/sleep" "$Y2S_STATE/control" 2>/dev/null ||
    [ -p "$Y2S_PIPE" ] || y2s_die "cannot make the build's pipes in $Y2S_STATE"
}

# A new output pipe, when something a command left running still holds the old one.
y2s_new_pipe() {
  local n=${Y2S_PIPE##*.}
  Y2S_PIPE=$Y2S_STATE/pipe.$((n + 1))
  mkfifo -- "$Y2S_PIPE" || y2s_die "cannot make a pipe in $Y2S_STATE"
}

# y2s_warden: the build's no-output watchdog, one subshell for the whole build (build.sh's, or
# the Makefile's watcher) that starts no process and writes no data. The build tells it on the
# pipe $Y2S_STATE/control when a command starts ("PID COPIER TIMEOUT ID OUTPUT", COPIER `-`
# for none) and ends (an empty line); between messages it wakes each second, marks the time (an
# empty file it truncates) and compares the time of the command's output with the previous mark
# (`-nt`: a named pipe's or a file's modification time moves with every write). After TIMEOUT
# silent seconds it marks $Y2S_STATE/timed-out.ID and kills the command's process group (TERM,
# KILL 2 s later). When the command has ended but the copy of its output still runs two seconds
# later, something the command left running holds the pipe: the warden ends the copy.
# It runs while process $Y2S_WARDEN_OF does and the state directory is there.
y2s_warden() {
  local ctl msg pid='' copier timeout id pipe quiet=0 ended=0 fresh=0 swap
  local old="$Y2S_STATE/mark.a" new="$Y2S_STATE/mark.b"
  exec {ctl}<>"$Y2S_STATE/control" || return
  while [ -d "$Y2S_STATE" ] && kill -0 "$Y2S_WARDEN_OF" 2>/dev/null; do
    # A message costs the build nothing but this read: the work waits for the next second.
    # (A read that times out empties its variable, hence msg.)
    if IFS= read -r -t 1 -u "$ctl" msg; then
      # PID COPIER TIMEOUT ID OUTPUT; OUTPUT, a path, may hold spaces.
      pid=${msg%% *} msg=${msg#* } copier=${msg%% *} msg=${msg#* }
      timeout=${msg%% *} msg=${msg#* } id=${msg%% *} pipe=${msg#* }
      quiet=0 ended=0 fresh=1
      continue
    fi
    : >"$new" 2>/dev/null || break
    if [ -z "$pid" ] || [ $fresh = 1 ]; then
      # No command, or its first second: counted from this mark.
      fresh=0
    elif ! kill -0 "$pid" 2>/dev/null; then
      ended=$((ended + 1))
      [ $ended != 2 ] || [ "$copier" = - ] || kill -TERM "$copier" 2>/dev/null
    else
      if [ "$old" -nt "$pipe" ]; then quiet=$((quiet + 1)); else quiet=0; fi
      if [ $quiet -ge "$timeout" ]; then
        : >"$Y2S_STATE/timed-out.$id"
        kill -TERM -- "-$pid" 2>/dev/null
        y2s_sleep 2
        kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
        quiet=0
      fi
    fi
    swap=$old old=$new new=$swap
  done
}

# y2s_tell_warden [MESSAGE]: a line for the warden, while it runs (a pipe nobody reads would
# fill up and block the build).
y2s_tell_warden() {
  [ -n "${Y2S_WARDEN:-}" ] && kill -0 "$Y2S_WARDEN" 2>/dev/null || return 0
  [ -n "${Y2S_CONTROL_FD:-}" ] || exec {Y2S_CONTROL_FD}<>"$Y2S_STATE/control"
  printf '%s\n' "$*" >&"$Y2S_CONTROL_FD"
}

# Opens the runtime's own descriptors (the sleep and control pipes), so that what it starts can
# be given them closed.
y2s_own_fds() {
  y2s_sleep 0
  [ -n "${Y2S_CONTROL_FD:-}" ] || exec {Y2S_CONTROL_FD}<>"$Y2S_STATE/control"
}

# Starts the warden for the build run by this process; Y2S_WARDEN is its pid.
y2s_start_warden() {
  y2s_pipes
  y2s_sleep 0
  Y2S_WARDEN_OF=$BASHPID y2s_warden </dev/null >/dev/null 2>&1 &
  Y2S_WARDEN=$!
  # Out of the job table: bash reaps it unannounced when it is killed.
  disown "$Y2S_WARDEN"
}

# y2s_foreground TIMEOUT PRELUDE CMD: CMD in a fresh bash after PRELUDE (y2s_prelude), in its own
# process group, under the warden's no-output timeout; sets Y2S_STATUS and Y2S_TIMED_OUT. Its
# output (stdout and stderr) goes straight to the build's when that is a file, whose
# modification time the warden reads (through /proc); otherwise (a terminal, whose clock moves
# only every 8 s, an anonymous pipe, whose clock does not move, or no /proc) and when values
# are masked, through the named pipe $Y2S_PIPE and y2s_copy. What the command leaves running in
# its group is hung up on when it ends, as when CircleCI 1.0 closed the command's ssh session;
# what survives that (nohup) runs on until the build ends.
y2s_foreground() {
  local timeout=$1 id=${Y2S_COUNT:-0} r w ro pid status=0 own='' watch=/proc/$BASHPID/fd/1
  y2s_pipes
  y2s_own_fds
  # A caller without a build (the workflow's yml2sh-run): a warden for this command alone.
  if [ -z "${Y2S_WARDEN:-}" ]; then
    y2s_start_warden
    own=$Y2S_WARDEN
  fi
  Y2S_COPIER=''
  if [ -f "$watch" ] && [ ! -s "$Y2S_STATE/mask" ]; then
    exec {w}>&1
  else
    watch=$Y2S_PIPE
    # Open both ends here, so that neither open blocks, and hand each to the one that needs it.
    exec {r}<>"$Y2S_PIPE"
    exec {w}>"$Y2S_PIPE"
    exec {ro}<"$Y2S_PIPE"
    exec {r}<&-
    y2s_copy <&"$ro" {ro}<&- {w}>&- {Y2S_SLEEP_FD}<&- {Y2S_CONTROL_FD}<&- &
    Y2S_COPIER=$!
    exec {ro}<&-
  fi
  set -m
  # `--`: a command may start with `-` or `+`, which bash would read as options.
  Y2S_PRELUDE=$2 BASH_ENV=$Y2S_STATE/prelude bash --noprofile --norc -c -- "$3" </dev/null >&"$w" 2>&1 {w}>&- {Y2S_SLEEP_FD}<&- {Y2S_CONTROL_FD}<&- &
  pid=$!
  set +m
  exec {w}>&-
  Y2S_CURRENT=$pid
  y2s_tell_warden "$pid" "${Y2S_COPIER:--}" "$timeout" "$id" "$watch"
  wait "$pid"
  Y2S_STATUS=$?
  kill -HUP -- "-$pid" 2>/dev/null
  if [ -n "$Y2S_COPIER" ]; then
    wait "$Y2S_COPIER"
    status=$?
  fi
  y2s_tell_warden
  Y2S_COPIER=''
  # The copy was ended by the warden: the pipe stays with what holds it, the build takes another.
  [ "$status" = 0 ] || y2s_new_pipe
  y2s_survivors "$pid"
  Y2S_CURRENT=''
  if [ -n "$own" ]; then
    kill -KILL "$own" 2>/dev/null
    Y2S_WARDEN=''
  fi
  Y2S_TIMED_OUT=0
  if [ -e "$Y2S_STATE/timed-out.$id" ]; then
    Y2S_TIMED_OUT=1
    Y2S_STATUS=124
  fi
}

# The copy of a command's output (standard input) to the build's, with the values of --env-file
# masked as `***` (line by line, so a line shows once it ends); plain cat when there is nothing
# to mask.
y2s_copy() {
  local -a values=()
  [ ! -s "$Y2S_STATE/mask" ] || mapfile -t values <"$Y2S_STATE/mask"
  [ ${#values[@]} -gt 0 ] || exec cat
  local line v
  while IFS= read -r line || [ -n "$line" ]; do
    for v in "${values[@]}"; do
      line=${line//"$v"/***}
    done
    printf '%s\n' "$line"
  done
}

# y2s_survivors PGID: what of the command's process group outlived the hang-up (nohup, or a
# process ignoring SIGHUP) is stopped with the build, as CircleCI stopped the container.
y2s_survivors() {
  local tries=0
  # Most commands leave nothing: one signal-free check, no process.
  kill -0 -- "-$1" 2>/dev/null || return 0
  # Processes hung up on take a moment to go; the dead ones wait for init to reap them.
  until ! y2s_group_alive "$1"; do
    tries=$((tries + 1))
    if [ $tries -ge 5 ]; then
      printf '%s\n' "$1" >>"$Y2S_STATE/background"
      y2s_note "    (left running by the command: process group $1, stopped when the build ends)"
      return 0
    fi
    y2s_sleep 0.02
  done
}

# True when process group PGID has a member that is not a zombie.
y2s_group_alive() {
  local pgid stat
  while read -r pgid stat; do
    [ "$pgid" != "$1" ] || [ "${stat:0:1}" = Z ] || return 0
  done < <(ps -A -o pgid= -o stat= 2>/dev/null)
  return 1
}


# y2s_with_files CMD GLOB...: CMD with this node's share of the files matching the GLOBs (from
# the build directory) appended; false when this node gets none, and the command is skipped.
y2s_with_files() {
  local cmd=$1 share
  shift
  share=$(cd -- "$Y2S_BUILD_DIR" && y2s_files_share "$@")
  [ -n "$share" ] || return 1
  printf '%s\n' "$cmd ${share% }"
}

# How a command's shell enters a pwd other than ~ (in $Y2S_PWD, its $VARs expanded): `--` and
# `./` so that `-`, `-P` are directories (not options, not $OLDPWD) and CDPATH never redirects;
# a relative one that climbs out of the checkout ($Y2S_TOP) is refused.
Y2S_PWD_CHECK=''
read -r -d '' Y2S_PWD_CHECK <<'PWD'
case $Y2S_PWD in
  /*) cd -- "$Y2S_PWD" || exit 1 ;;
  *)
    cd -- "./$Y2S_PWD" || exit 1
    case $PWD/ in
      "$Y2S_TOP"/*) ;;
      *)
        printf 'yml2sh: pwd %s climbs out of the checkout (to %s)\n' "$Y2S_PWD" "$PWD" >&2
        exit 1
        ;;
    esac
    ;;
esac
unset Y2S_PWD Y2S_TOP
PWD

# y2s_prelude VAR PWD [ASSIGNMENT]...: sets VAR to the prelude of a command, which runs in the
# command's own shell before it, through BASH_ENV (the build's file $Y2S_STATE/prelude, which
# evaluates $Y2S_PRELUDE: no file per command), so the command text reaches bash exactly as
# written in circle.yml: the environment file and ~/.circlerc sourced, cd to the phase's
# directory ($Y2S_DIR: home, or $Y2S_BUILD_DIR), then to PWD (the inside of "…", `$` live), then
# an `export` of each ASSIGNMENT ('NAME="value"').
y2s_prelude() {
  local out=$1 dir=$2 assignment text
  shift 2
  # Where inferred variables find the build (PATH="$YML2SH_BUILD_DIR/node_modules/.bin:…").
  printf -v text 'unset Y2S_PRELUDE\nexport YML2SH_BUILD_DIR=%q\n' "$Y2S_BUILD_DIR"
  text+="[ -f \"\$Y2S_ENV_FILE\" ] && . \"\$Y2S_ENV_FILE\""$'\n'"[ -f ~/.circlerc ] && . ~/.circlerc"$'\n'
  if [ "$Y2S_DIR" = home ]; then
    text+='cd ~ || exit 1'$'\n'
  else
    printf -v assignment 'cd %q || exit 1\n' "$Y2S_BUILD_DIR"
    text+=$assignment
  fi
  # A leading ~ is the home directory, as the shell would read it unquoted; other pwds go
  # through Y2S_PWD_CHECK.
  case $dir in
    '') ;;
    \~) text+='cd ~ || exit 1'$'\n' ;;
    \~/*) text+="cd -- ~/\"${dir:2}\" || exit 1"$'\n' ;;
    *)
      printf -v assignment 'Y2S_PWD="%s"\nY2S_TOP=%q\n%s\n' "$dir" "$Y2S_PROJECT_DIR" "$Y2S_PWD_CHECK"
      text+=$assignment
      ;;
  esac
  for assignment in "$@"; do
    text+="export $assignment"$'\n'
  done
  printf -v "$out" '%s' "$text"
}

# y2s_background NAME PRELUDE CMD: starts CMD detached, in its own process group, after PRELUDE;
# its output goes to $CIRCLE_ARTIFACTS/stdout_NAME_PID.txt, its pid to $Y2S_STATE/background.
# False, with a message, when that file cannot be written (the command does not start).
y2s_background() {
  local out="$CIRCLE_ARTIFACTS/stdout_${1}_$$.txt"
  if ! { : >"$out"; } 2>/dev/null; then
    printf '%s    cannot write its output to %s: not started%s\n' "$Y2S_R" "$out" "$Y2S_0"
    return 1
  fi
  y2s_pipes
  y2s_own_fds
  set -m
  Y2S_PRELUDE=$2 BASH_ENV=$Y2S_STATE/prelude nohup bash --noprofile --norc -c -- "$3" </dev/null >"$out" 2>&1 {Y2S_SLEEP_FD}<&- {Y2S_CONTROL_FD}<&- &
  echo $! >>"$Y2S_STATE/background"
  set +m
  y2s_note "    (started in the background, pid $!, output in $out)"
}

# y2s_run LINE [--timeout SECONDS] [--pwd DIR] [--env 'NAME="value"']... [--files GLOB]...
#         [--background] [--all-nodes|--node-0] [--inferred FROM], with the command text on
#         standard input. FROM: the project file CircleCI 1.0's inference ran it for.
y2s_run() {
  local line=$1
  shift
  local timeout=600 dir='' background=0 nodes=$Y2S_NODES inferred=''
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
      --inferred) inferred=$2 && shift ;;
      *) y2s_die "y2s_run: unknown option $1" ;;
    esac
    shift
  done
  Y2S_COUNT=$((Y2S_COUNT + 1))
  local id=$Y2S_COUNT
  local cmd title
  # The text without a process; trailing newlines dropped as $(cat) would.
  IFS= read -rd '' cmd || :
  while [ "${cmd: -1}" = $'\n' ]; do cmd=${cmd%$'\n'}; done
  title=${cmd%%$'\n'*}
  title=${title//$Y2S_CONTROL/?}
  if [ "$Y2S_MODE" = list ]; then
    y2s_list_command "$line" "$timeout" "$dir" $background "$nodes" "$inferred" "$cmd" "$title" \
      "${globs[@]}"
    return 0
  fi
  if ! y2s_selected "$Y2S_PHASE"; then
    Y2S_UNSELECTED=$((Y2S_UNSELECTED + 1))
    return 0
  fi
  if y2s_stopped; then
    y2s_skip "$title"
    return 0
  fi
  if [ "$nodes" = node-0 ] && [ "$CIRCLE_NODE_INDEX" != 0 ]; then
    y2s_skip "$title" "node 0 only, this is node $CIRCLE_NODE_INDEX"
    return 0
  fi
  if [ ${#globs[@]} -gt 0 ] && ! cmd=$(y2s_with_files "$cmd" "${globs[@]}"); then
    y2s_skip "$title" "no files for node $CIRCLE_NODE_INDEX"
    return 0
  fi
  [ -z "$inferred" ] || y2s_note "# inferred from $inferred"
  # Where its failure is said to be: its line, or the project file inference read.
  local at=$line
  [ -z "$inferred" ] || at="inferred from $inferred"
  y2s_show "$cmd"
  Y2S_RAN=$((Y2S_RAN + 1))
  if [ "$Y2S_MODE" = dry-run ]; then
    return 0
  fi
  local prelude
  y2s_prelude prelude "$dir" "${envs[@]}"
  local start took
  y2s_clock start
  if [ $background = 1 ]; then
    y2s_background "$id" "$prelude" "$cmd" ||
      y2s_record_failure "$at" "$title" "background: cannot write its output to \$CIRCLE_ARTIFACTS"
    return 0
  fi
  y2s_foreground "$timeout" "$prelude" "$cmd"
  y2s_took took "$start"
  if [ "$Y2S_STATUS" = 0 ]; then
    y2s_note "    (${took}s)"
  else
    y2s_command_failed "$at" "$title" "$timeout" "$took"
  fi
}

# y2s_clock VAR: microseconds since the epoch, without a fork (bash 5's EPOCHREALTIME, whose
# separator follows the locale; whole seconds on bash 4.4).
y2s_clock() {
  local t=${EPOCHREALTIME:-$SECONDS.000000}
  printf -v "$1" '%s' "${t//[!0-9]/}"
}

# y2s_took VAR START: the time since START (y2s_clock) as a command's line shows it: 0.04 below
# ten seconds, whole seconds above.
y2s_took() {
  local now
  y2s_clock now
  local d=$((now - $2))
  if ((d < 10000000)); then
    printf -v "$1" '%d.%02d' $((d / 1000000)) $((d / 10000 % 100))
  else
    printf -v "$1" '%d' $((d / 1000000))
  fi
}

# --list: one command, its line and what differs from its phase's defaults.
# y2s_list_command LINE TIMEOUT PWD BACKGROUND NODES INFERRED TEXT TITLE [GLOB]...
y2s_list_command() {
  local line=$1 timeout=$2 dir=$3 background=$4 nodes=$5 inferred=$6 cmd=$7 title=$8 notes=''
  shift 8
  [ "$timeout" = 600 ] || notes+=" timeout=${timeout}s"
  [ -z "$dir" ] || notes+=" pwd=$dir"
  [ "$background" = 0 ] || notes+=" background"
  # Which node runs it matters only when there is more than one.
  [ "$nodes" = all-nodes ] || [ "${CIRCLE_NODE_TOTAL:-1}" = 1 ] || notes+=" node-0-only"
  [ $# = 0 ] || notes+=" files=$*"
  [ -z "$inferred" ] || notes+=" inferred from $inferred"
  [ "$line" != 0 ] || line=-
  [ "$cmd" = "$title" ] || title+=" …"
  printf '  %-6s %s%s%s\n' "$line" "$title" "$Y2S_D" "${notes:+  [${notes# }]}$Y2S_0"
}

# A foreground command that failed (Y2S_STATUS, Y2S_TIMED_OUT): said and recorded.
# y2s_command_failed WHERE TITLE TIMEOUT SECONDS (WHERE as y2s_record_failure's)
y2s_command_failed() {
  local at=$1 title=$2 timeout=$3 took=$4 why
  if [ "$Y2S_TIMED_OUT" = 1 ]; then
    printf '%s    timed out: no output for %ss (%ss)%s\n' "$Y2S_R" "$timeout" "$took" "$Y2S_0"
    y2s_record_failure "$at" "$title" "timed out after ${timeout}s without output"
    return 0
  fi
  why="exit $Y2S_STATUS"
  # bash's status for a command it could not find (126: found but not executable).
  [ "$Y2S_STATUS" != 127 ] || why+=": a command was not found on PATH"
  [ "$Y2S_STATUS" != 126 ] || why+=": a command is not executable"
  printf '%s    %s (%ss)%s\n' "$Y2S_R" "$why" "$took" "$Y2S_0"
  y2s_record_failure "$at" "$title" "$why"
}

# CircleCI's own steps, as far as a local build can take them: said when their phase runs.
y2s_builtin() {
  [ "$Y2S_MODE" = list ] && { y2s_note "  ($1)"; return 0; }
  y2s_selected "$Y2S_PHASE" || return 0
  y2s_stopped && return 0
  y2s_note "($1)"
}

# A built-in setup step (timezone, hosts, services, cache restore): said, then true when it is to
# be done, also in a phase --only leaves out when a later selected phase needs it.
y2s_setup() {
  [ "$Y2S_MODE" = list ] && { y2s_note "  ($1)"; return 1; }
  y2s_stopped && return 1
  y2s_setup_wanted || return 1
  if [ -n "$Y2S_PENDING" ]; then
    y2s_header "$Y2S_PHASE" "$Y2S_PENDING"
    Y2S_PENDING=''
  fi
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
  y2s_setup "timezone $1: exported as TZ" || return 0
  [ "$Y2S_MODE" = run ] || return 0
  printf 'export TZ=%q\n' "$1" >>"$Y2S_ENV_FILE"
}

y2s_hosts() {
  y2s_setup "hosts: $*" || return 0
  [ "$Y2S_MODE" = run ] || return 0
  while [ $# -ge 2 ]; do
    if ! grep -qE "^[^#]*[[:space:]]$1([[:space:]]|\$)" /etc/hosts 2>/dev/null; then
      y2s_warn "machine.hosts: $1 is not in /etc/hosts; add it with: echo '$2 $1' | sudo tee -a /etc/hosts"
    fi
    shift 2
  done
}

y2s_language() {
  local version=''
  if [ "$Y2S_MODE" = list ]; then
    y2s_builtin "machine.$1.version $2"
    return 0
  fi
  case $1 in
    ruby | node | python | php | java | go) version=$("$1" --version 2>&1 | head -n 1) || version='' ;;
  esac
  y2s_builtin "machine.$1.version $2 requested; using ${version:-no $1 found on PATH}"
}

# y2s_service LINE NAME IMAGE READY_TIMEOUT [--port P]... [--env K=V]... [--ready CMD] [--init SH]
#             [--client K=V]...: starts a container standing in for a CircleCI 1.0 service,
# waits until it accepts connections, and exports what its clients need to later commands.
y2s_service() {
  local line=$1 name=$2 image=$3 wait=$4 ready='' init='' port gateway
  shift 4
  local -a ports=() envs=() clients=() publish=()
  while [ $# -gt 0 ]; do
    case $1 in
      --port) ports+=("$2") ;;
      --env) envs+=(-e "$2") ;;
      --ready) ready=$2 ;;
      --init) init=$2 ;;
      --client) clients+=("$2") ;;
      *) y2s_die "y2s_service: unknown option $1" ;;
    esac
    shift 2
  done
  y2s_setup "service ${name#yml2sh-}: $image on port${ports[1]:+s} ${ports[*]}" || return 0
  [ "$Y2S_MODE" = run ] || return 0
  local kv
  for kv in "${clients[@]}"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}" >>"$Y2S_ENV_FILE"
  done
  if [ "$Y2S_SERVICES" = host ]; then
    y2s_note "    (--services=host: using the ${name#yml2sh-} already running here)"
    return 0
  fi
  # 1.0's daemons also listened on docker0, where the build's own containers reach them.
  gateway=''
  if [ "$Y2S_NEEDS_DOCKER" = 1 ]; then
    gateway=$(docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}' 2>/dev/null) || gateway=''
  fi
  for port in "${ports[@]}"; do
    publish+=(-p "127.0.0.1:$port:$port")
    [ -z "$gateway" ] || publish+=(-p "$gateway:$port:$port")
  done
  local service=${name#yml2sh-} err taken=''
  # One container per build (project and build number), so two builds never share one.
  name=$(y2s_container_name "$service")
  # The readiness probe runs in the container by the name lowering gave it: this build's instead.
  ready=${ready/#"docker exec yml2sh-$service "/"docker exec $name "}
  for port in "${ports[@]}"; do
    y2s_port_taken "$port" && taken+=" $port"
  done
  if [ -n "$taken" ]; then
    y2s_port_failure "$line" "$service" "${taken# }"
    return 0
  fi
  docker rm -f "$name" </dev/null >/dev/null 2>&1
  printf '%s\n' "$name" >>"$Y2S_STATE/containers"
  if ! err=$(docker run -d --name "$name" "${publish[@]}" "${envs[@]}" "$image" 2>&1 >/dev/null </dev/null); then
    [ -z "$err" ] || printf '%s\n' "$err" | sed 's/^/    | /'
    case $err in
      *'port is already allocated'* | *'address already in use'*)
        y2s_port_failure "$line" "$service" "${ports[*]}"
        ;;
      *) y2s_record_failure "$line" "service $service" "docker run $image failed" ;;
    esac
    return 0
  fi
  local waited=0
  until bash -c "$ready" >/dev/null 2>&1; do
    if [ "$waited" -ge "$wait" ]; then
      printf '%s    %s did not accept connections within %ss%s\n' "$Y2S_R" "$service" "$wait" "$Y2S_0"
      docker logs --tail 20 "$name" 2>&1 | sed 's/^/    | /'
      y2s_record_failure "$line" "service $service" "not ready after ${wait}s"
      return 0
    fi
    y2s_sleep 1
    waited=$((waited + 1))
  done
  if [ -n "$init" ] && ! docker exec "$name" sh -c "$init" >/dev/null; then
    y2s_record_failure "$line" "service $service" "its set-up in the container failed"
    return 0
  fi
  y2s_note "    ($service ready after ${waited}s)"
}

# The container of SERVICE for this build: yml2sh-OWNER-REPO-BUILD-SERVICE, in Docker's alphabet.
y2s_container_name() {
  local name="yml2sh-$CIRCLE_PROJECT_USERNAME-$CIRCLE_PROJECT_REPONAME-$CIRCLE_BUILD_NUM-$1"
  printf '%s\n' "${name//[^a-zA-Z0-9_.-]/-}"
}

# True when something already listens on 127.0.0.1:PORT (bash's /dev/tcp, no tool needed).
y2s_port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

y2s_port_failure() {
  printf '%s    port %s on 127.0.0.1 is already in use (another build'"'"'s %s, or one running here): stop it, or pass --services=host to use the one running here%s\n' \
    "$Y2S_R" "$3" "$2" "$Y2S_0"
  y2s_record_failure "$1" "service $2" "port $3 is already in use; --services=host uses what runs there"
}

y2s_remove_containers() {
  local name
  [ -f "$Y2S_STATE/containers" ] || return 0
  while read -r name; do
    docker rm -f "$name" </dev/null >/dev/null 2>&1 && y2s_note "(removed container $name)"
  done <"$Y2S_STATE/containers"
  rm -f "$Y2S_STATE/containers"
}

# The dependency cache (spec §10): restored before dependencies, saved after them, in a folder
# per project (--cache-dir) instead of CircleCI's storage. Directories that already exist
# locally are left alone on restore: a working tree's own node_modules wins.
y2s_cache_path() {
  case $1 in
    \~) printf '%s\n' "$HOME" ;;
    \~/*) printf '%s\n' "$HOME/${1:2}" ;;
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$Y2S_BUILD_DIR/$1" ;;
  esac
}

y2s_cache_key() {
  case $1 in
    \~) printf 'home\n' ;;
    \~/*) printf 'home/%s\n' "${1:2}" ;;
    /*) printf 'root%s\n' "$1" ;;
    *) printf 'build/%s\n' "$1" ;;
  esac
}

# y2s_restore_cache DIR... [--inferred DIR...]: those after --inferred only inference named.
y2s_restore_cache() {
  local -a all=()
  local a
  for a; do [ "$a" = --inferred ] || all+=("$a"); done
  set -- "${all[@]}"
  [ $# -gt 0 ] || return 0
  y2s_setup "restore cache${Y2S_CACHE_DIR:+ from $Y2S_CACHE_DIR}: $*" || return 0
  [ "$Y2S_MODE" = run ] && [ -n "$Y2S_CACHE_DIR" ] || return 0
  local dir from to
  for dir in "$@"; do
    from="$Y2S_CACHE_DIR/$(y2s_cache_key "$dir")"
    to=$(y2s_cache_path "$dir")
    if [ -e "$from" ] && [ ! -e "$to" ]; then
      if mkdir -p -- "${to%/*}" && cp -a -- "$from" "$to"; then
        y2s_note "    (restored $dir)"
      else
        y2s_warn "could not restore $dir from the cache ($from)"
      fi
    fi
  done
}

# Saves FROM as TO through a fresh copy beside it and renames: a build restoring at the same
# time sees the old copy or the new one, never half of one, and two saves never mix.
y2s_save_one() {
  local from=$1 to=$2 tmp old
  if ! mkdir -p -- "${to%/*}" || ! tmp=$(mktemp -d "$to.new.XXXXXXX"); then
    y2s_warn "could not save $from to the cache: cannot create a directory beside $to"
    return 1
  fi
  if ! cp -a -- "$from" "$tmp/d"; then
    rm -rf -- "$tmp"
    y2s_warn "could not save $from to the cache"
    return 1
  fi
  old="$tmp/old"
  # Renames within one directory are atomic; the old copy is removed once out of the way.
  if { [ -e "$to" ] && ! mv -f -- "$to" "$old"; } || ! mv -f -- "$tmp/d" "$to"; then
    # The old copy back where it was, if it was moved.
    [ ! -e "$old" ] || mv -f -- "$old" "$to"
    rm -rf -- "$tmp"
    y2s_warn "could not save $from to the cache: cannot replace $to"
    return 1
  fi
  rm -rf -- "$tmp"
}

# y2s_save_cache DIR... [--inferred DIR...]: a missing DIR after --inferred is no warning.
y2s_save_cache() {
  local -a all=() silent=()
  local a seen=0
  for a; do
    if [ "$a" = --inferred ]; then seen=1; else all+=("$a"); [ $seen = 0 ] || silent+=("$a"); fi
  done
  set -- "${all[@]}"
  [ $# -gt 0 ] || return 0
  y2s_builtin "save cache${Y2S_CACHE_DIR:+ to $Y2S_CACHE_DIR}: $*"
  [ "$Y2S_MODE" = run ] && [ -n "$Y2S_CACHE_DIR" ] || return 0
  y2s_selected "$Y2S_PHASE" && ! y2s_stopped || return 0
  # CircleCI saved the cache from node 0 only.
  [ "$CIRCLE_NODE_INDEX" = 0 ] || return 0
  local dir from to
  for dir in "$@"; do
    from=$(y2s_cache_path "$dir")
    to="$Y2S_CACHE_DIR/$(y2s_cache_key "$dir")"
    if [ -e "$from" ]; then
      y2s_save_one "$from" "$to" && y2s_note "    (saved $dir)"
    elif [[ " ${silent[*]-} " != *" $dir "* ]]; then
      y2s_warn "cache directory $dir does not exist; not saved"
    fi
  done
  # A cache not saved is a warning, never the build's failure (nor make's).
  return 0
}

y2s_inferred() {
  y2s_builtin "CircleCI would have inferred $1 commands here; yml2sh does not run them (write them under $1.override)"
}

y2s_kill_background() {
  local g pgid sess ours='' live=' '
  [ -f "$Y2S_STATE/background" ] || return 0
  # The process groups alive in this build's session, its own: a group whose number is gone
  # may be someone else's by now. (Without ps: every recorded group that still answers.)
  read -r ours < <(ps -o sess= -p "$BASHPID" 2>/dev/null)
  if [ -n "$ours" ]; then
    while read -r pgid sess; do
      [ "$sess" != "$ours" ] || live+="$pgid "
    done < <(ps -A -o pgid= -o sess= 2>/dev/null)
  fi
  while read -r g; do
    if [ -n "$ours" ]; then
      case $live in *" $g "*) ;; *) continue ;; esac
    fi
    kill -TERM -- "-$g" 2>/dev/null
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

# The end of the log: each failure, then the outcome with its counts and time, the deployment's
# result, and the exit status. Its status is the build's.
y2s_summary() {
  local phase at title why failed=0 status=0 now counts
  y2s_header summary
  if [ -s "$Y2S_STATE/failed" ]; then
    while IFS=$'\t' read -r phase at title why; do
      printf '%sFAILED%s  %-12s %s  %s (%s)\n' "$Y2S_R" "$Y2S_0" "$phase" "$at" "$title" "$why"
      failed=$((failed + 1))
      # A deployment that ran and failed.
      [ "$phase" != deployment ] || [ -z "$Y2S_DEPLOYING" ] || Y2S_DEPLOY_RESULT="'$Y2S_DEPLOYING' failed"
    done <"$Y2S_STATE/failed"
    status=1
  fi
  printf -v now '%(%s)T' -1
  counts="$Y2S_RAN ran, $failed failed, $Y2S_SKIPPED skipped"
  [ "$Y2S_UNSELECTED" = 0 ] || counts+=", $Y2S_UNSELECTED not selected by --only"
  if [ "$Y2S_MODE" = dry-run ]; then
    y2s_say "dry run, nothing ran: ${counts/ ran, $failed failed,/ would run,}"
  elif [ $status = 0 ]; then
    printf '%sbuild succeeded%s: %s in %ss\n' "$Y2S_G" "$Y2S_0" "$counts" "$((now - Y2S_T0))"
  else
    printf '%sbuild failed%s: %s in %ss\n' "$Y2S_R" "$Y2S_0" "$counts" "$((now - Y2S_T0))"
  fi
  [ -z "$Y2S_DEPLOY_RESULT" ] || y2s_say "deployment: $Y2S_DEPLOY_RESULT"
  y2s_say "exit status $status"
  return $status
}

y2s_usage() {
  cat <<USAGE
Usage: ${0##*/} [OPTION]...
Runs the build of $Y2S_SOURCE as CircleCI 1.0 did: phases in order, every command in a fresh
bash, setup phases stopping at the first failure, every test command running, deployment only
after a green build and only with --deploy.

Options:
  --list                 list the phases and commands with their circle.yml lines; run nothing
  --dry-run              print what the same call without --dry-run would run; run nothing
  --only PHASE[,PHASE]   run only these phases' commands (earlier phases' built-in setup, such
                         as services and the cache, still runs): $Y2S_PHASES
  --deploy               run the first matching deployment subsection after a green build
  --project-dir DIR      the checkout to build (default: the git top level of the current directory)
  --services=host        use services already running here instead of starting containers
  --cache-dir DIR        where cache_directories are kept between builds
                         (default: ~/.cache/yml2sh/OWNER/REPO/dependencies)
  --no-cache             neither restore nor save cache_directories
  --home DIR             give the build DIR as its \$HOME (~/.circlerc, ~/docker, ~/.m2 there),
                         kept between builds; without it the build uses your home and what it
                         appends to ~/.circlerc is undone when it ends
  --fresh-home           give the build an empty \$HOME, removed when it ends
  --env-file FILE        project-settings variables (NAME=VALUE lines, as docker and act read
                         them), exported to every command; never printed, masked in the output
  -h, --help             show this help

CircleCI's variables are derived from git; any of them set in the environment wins, e.g.
  CIRCLE_BRANCH=release ${0##*/} --dry-run
  CIRCLE_NODE_TOTAL=3 CIRCLE_NODE_INDEX=1 ${0##*/}
NO_COLOR=1 turns colour off.
USAGE
}

# An interrupted command: its process group and the copy of its output stopped.
y2s_stop_current() {
  [ -z "${Y2S_CURRENT:-}" ] || kill -TERM -- "-$Y2S_CURRENT" 2>/dev/null
  if [ -n "${Y2S_COPIER:-}" ]; then
    kill -KILL "$Y2S_COPIER" 2>/dev/null
    # Its status, taken here, is not announced.
    wait "$Y2S_COPIER" 2>/dev/null
  fi
  Y2S_CURRENT='' Y2S_COPIER=''
}

# The clean-up at the end of a build, by the process that owns it ($Y2S_OWNER): a subshell
# signalled before it has dropped the build's traps (they are inherited until then) only exits.
y2s_on_exit() {
  local status=$?
  [ "${Y2S_OWNER:-}" = "$BASHPID" ] || exit "$status"
  y2s_stop_current
  [ -z "${Y2S_WARDEN:-}" ] || [ -n "${Y2S_MAKE_PID:-}" ] || kill -KILL "$Y2S_WARDEN" 2>/dev/null
  if [ -n "${Y2S_STATE:-}" ] && [ -d "$Y2S_STATE" ]; then
    y2s_kill_background
    y2s_remove_containers
    y2s_restore_circlerc
    rm -rf -- "$Y2S_STATE"
  fi
  exit "$status"
}

# y2s_interrupt STATUS: 130 for INT (Ctrl-C), 143 for TERM, as a shell reports a command the
# signal ended.
y2s_interrupt() {
  [ "${Y2S_OWNER:-}" = "$BASHPID" ] || exit "$1"
  # A second Ctrl-C stops the clean-up at once; a second TERM is ignored: make sends its recipe
  # line the TERM that the process group already got, and dying of it would lose the summary.
  trap - INT
  trap '' TERM
  # What a summary says, on one line: the build ends here, teardown and deployment not run.
  local failed=0 _
  if [ -n "${Y2S_STATE:-}" ] && [ -s "$Y2S_STATE/failed" ]; then
    while IFS= read -r _; do failed=$((failed + 1)); done <"$Y2S_STATE/failed"
  fi
  printf '\n%sinterrupted%s: %s started, %s failed, %s skipped; exit status %s\n' \
    "$Y2S_R" "$Y2S_0" "${Y2S_RAN:-0}" "$failed" "${Y2S_SKIPPED:-0}" "$1" >&2
  exit "$1"
}

y2s_main() {
  Y2S_MODE=run Y2S_DEPLOY=0 Y2S_STATE=''
  y2s_defaults
  y2s_color
  while [ $# -gt 0 ]; do
    case $1 in
      -h | --help) y2s_usage && exit 0 ;;
      --list) Y2S_MODE=list ;;
      --dry-run) Y2S_MODE=dry-run ;;
      --only) [ $# -ge 2 ] || y2s_die "--only needs a phase name" && Y2S_ONLY=$2 && shift ;;
      --only=*) Y2S_ONLY=${1#*=} ;;
      --deploy) Y2S_DEPLOY=1 ;;
      --services=host | --services=docker) Y2S_SERVICES=${1#*=} ;;
      --services) [ $# -ge 2 ] || y2s_die "--services needs docker or host" && Y2S_SERVICES=$2 && shift ;;
      --cache-dir) [ $# -ge 2 ] || y2s_die "--cache-dir needs a directory" && Y2S_CACHE_DIR=$2 && shift ;;
      --cache-dir=*) Y2S_CACHE_DIR=${1#*=} ;;
      --no-cache) Y2S_CACHE_DIR='' Y2S_NO_CACHE=1 ;;
      --project-dir) [ $# -ge 2 ] || y2s_die "--project-dir needs a directory" && Y2S_PROJECT_DIR=$2 && shift ;;
      --project-dir=*) Y2S_PROJECT_DIR=${1#*=} ;;
      --home) [ $# -ge 2 ] || y2s_die "--home needs a directory" && Y2S_HOME=$2 && shift ;;
      --home=*) Y2S_HOME=${1#*=} ;;
      --fresh-home) Y2S_FRESH_HOME=1 ;;
      --env-file) [ $# -ge 2 ] || y2s_die "--env-file needs a file" && Y2S_ENV_FROM=$2 && shift ;;
      --env-file=*) Y2S_ENV_FROM=${1#*=} ;;
      *) y2s_die "unknown option '$1' (see --help)" ;;
    esac
    shift
  done
  y2s_check_only

  if [ "$Y2S_MODE" = list ]; then
    y2s_plan
    y2s_list_deployments
    return 0
  fi

  # Checked: a failed mktemp must never leave the state path empty (files would go to /).
  if ! Y2S_STATE=$(mktemp -d "${TMPDIR:-/tmp}/yml2sh.XXXXXXX" 2>/dev/null) || [ ! -d "$Y2S_STATE" ]; then
    y2s_die "cannot create a temporary directory in ${TMPDIR:-/tmp} (TMPDIR): is it a writable directory?"
  fi
  Y2S_OWNER=$BASHPID
  trap y2s_on_exit EXIT
  trap 'y2s_interrupt 130' INT
  trap 'y2s_interrupt 143' TERM
  [ "$Y2S_MODE" != run ] || y2s_start_warden
  y2s_start || return 0
  y2s_plan
  y2s_deploy
  y2s_teardown
  y2s_finish
}

# The build's home. By default the user's own, where the build's tools and credentials are, with
# ~/.circlerc per build as in CircleCI's container: what the build appends to it is undone at its
# end (y2s_restore_circlerc), so it never changes a later build. --home DIR (YML2SH_HOME) gives
# the build DIR as $HOME, kept between builds; --fresh-home (YML2SH_FRESH_HOME=1) an empty one
# removed at the end. yml2sh's own store (build numbers, the cache) stays in the user's home.
y2s_setup_home() {
  Y2S_STORE="${XDG_CACHE_HOME:-$HOME/.cache}/yml2sh"
  case $Y2S_FRESH_HOME in 0 | '') Y2S_FRESH_HOME=0 ;; *) Y2S_FRESH_HOME=1 Y2S_HOME=$Y2S_STATE/home ;; esac
  if [ -n "$Y2S_HOME" ]; then
    mkdir -p -- "$Y2S_HOME" || y2s_die "cannot create the build's home $Y2S_HOME"
    Y2S_HOME=$(cd -- "$Y2S_HOME" && pwd) || y2s_die "cannot enter the build's home"
    y2s_enter_home
  elif [ "$Y2S_MODE" = run ]; then
    if [ -e ~/.circlerc ]; then
      cp -p -- ~/.circlerc "$Y2S_STATE/circlerc" || y2s_die "cannot keep a copy of ~/.circlerc"
    fi
    printf '%s\n' "$HOME/.circlerc" >"$Y2S_STATE/circlerc.path"
  fi
}

# The build's own home for this process and the commands it starts (every Makefile line too).
y2s_enter_home() {
  [ -n "${Y2S_HOME:-}" ] || return 0
  export HOME=$Y2S_HOME
  # The user's XDG folders would lead the commands back outside the build's home.
  unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME
}

# ~/.circlerc as it was before the build: its copy back, or removed if there was none.
y2s_restore_circlerc() {
  local rc
  [ -f "$Y2S_STATE/circlerc.path" ] || return 0
  rc=$(<"$Y2S_STATE/circlerc.path")
  if [ -f "$Y2S_STATE/circlerc" ]; then
    cmp -s -- "$Y2S_STATE/circlerc" "$rc" || cat -- "$Y2S_STATE/circlerc" >"$rc"
  elif [ -e "$rc" ]; then
    rm -f -- "$rc"
  fi
  rm -f -- "$Y2S_STATE/circlerc.path"
}

# y2s_load_env_file FILE [quiet]: the project-settings variables of FILE, exported (over the
# environment's), in the dotenv format of docker --env-file and act: NAME=VALUE lines, `export `
# allowed, `#` comment lines, VALUE literal, or in '…' (literal) or "…" (\n, \", \\ escapes).
# Values are never printed; those of 4 characters or more are masked in commands' output.
y2s_load_env_file() {
  local file=$1 quiet=${2:-} line n=0 name value names='' v
  if [ ! -f "$file" ] || [ ! -r "$file" ]; then
    y2s_die "--env-file: cannot read $file"
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=${line%$'\r'}
    line=${line#"${line%%[![:space:]]*}"}
    case $line in '' | \#*) continue ;; esac
    case $line in export[[:space:]]*) line=${line#export} && line=${line#"${line%%[![:space:]]*}"} ;; esac
    case $line in *=*) ;; *) y2s_die "$file:$n: expected NAME=VALUE" ;; esac
    name=${line%%=*} value=${line#*=}
    name=${name%"${name##*[![:space:]]}"}
    value=${value#"${value%%[![:space:]]*}"}
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || y2s_die "$file:$n: '$name' is not a variable name"
    case $value in
      \'*)
        value=${value%"${value##*[![:space:]]}"}
        [[ $value == \'*\' && ${#value} -ge 2 ]] || y2s_die "$file:$n: the value of $name has no closing '"
        value=${value:1:${#value}-2}
        ;;
      \"*)
        value=${value%"${value##*[![:space:]]}"}
        [[ $value == \"*\" && ${#value} -ge 2 ]] || y2s_die "$file:$n: the value of $name has no closing \""
        value=${value:1:${#value}-2}
        value=${value//\\\\/$'\001'}
        value=${value//\\n/$'\n'}
        value=${value//\\\"/\"}
        value=${value//$'\001'/\\}
        ;;
      *) value=${value%"${value##*[![:space:]]}"} ;;
    esac
    export "$name=$value"
    names+="${names:+, }$name"
    if [ -z "$quiet" ] && [ ${#value} -ge 4 ]; then
      while IFS= read -r v; do
        [ ${#v} -lt 4 ] || printf '%s\n' "$v" >>"$Y2S_STATE/mask"
      done <<<"$value"
    fi
  done <"$file"
  Y2S_ENV_NAMES=${names:-no variables}
}

# The settings build.sh and the Makefile share, with their defaults from the environment
# (YML2SH_*), so that both take the same settings.
y2s_defaults() {
  Y2S_PHASE='' Y2S_ON_FAILURE=stop Y2S_CURRENT='' Y2S_NODES=all-nodes Y2S_DIR=build Y2S_COUNT=0
  Y2S_RAN=0 Y2S_SKIPPED=0 Y2S_UNSELECTED=0 Y2S_PENDING='' Y2S_DEPLOYING='' Y2S_DEPLOY_RESULT=''
  Y2S_T0=0 Y2S_ONLY=${YML2SH_ONLY:-}
  Y2S_SERVICES=${YML2SH_SERVICES:-docker} Y2S_CACHE_DIR=${YML2SH_CACHE_DIR:-}
  Y2S_NO_CACHE=${YML2SH_NO_CACHE:-0} Y2S_PROJECT_DIR=${YML2SH_PROJECT_DIR:-}
  Y2S_HOME=${YML2SH_HOME:-} Y2S_FRESH_HOME=${YML2SH_FRESH_HOME:-0} Y2S_STORE=''
  Y2S_ENV_FROM=${YML2SH_ENV_FILE:-} Y2S_ENV_NAMES=''
}

# --only: known phases, and not without deployment when deployment is asked for.
y2s_check_only() {
  local phase
  for phase in ${Y2S_ONLY//,/ }; do
    case " $Y2S_PHASES " in *" $phase "*) ;; *) y2s_die "--only: unknown phase '$phase' (phases: $Y2S_PHASES)" ;; esac
  done
  if [ "$Y2S_DEPLOY" = 1 ] && ! y2s_selected deployment; then
    y2s_die "--deploy with --only $Y2S_ONLY: deployment is not among those phases; add it (--only $Y2S_ONLY,deployment) or leave out --deploy"
  fi
}

# The start of a build (shared with the Makefile driver, which owns $Y2S_STATE itself): the
# project, CircleCI's variables, checks, the header. False when general.branches skips the branch.
y2s_start() {
  printf -v Y2S_T0 '%(%s)T' -1
  y2s_check_only
  case $Y2S_SERVICES in docker | host) ;; *) y2s_die "services: '$Y2S_SERVICES' is neither docker nor host" ;; esac
  case $Y2S_NO_CACHE in 0 | '') Y2S_NO_CACHE=0 ;; *) Y2S_NO_CACHE=1 Y2S_CACHE_DIR='' ;; esac
  if [ -z "$Y2S_PROJECT_DIR" ]; then
    Y2S_PROJECT_DIR=$(git rev-parse --show-toplevel 2>/dev/null) || Y2S_PROJECT_DIR=$PWD
  fi
  [ -d "$Y2S_PROJECT_DIR" ] || y2s_die "no such project directory: $Y2S_PROJECT_DIR"
  Y2S_PROJECT_DIR=$(cd -- "$Y2S_PROJECT_DIR" && pwd)
  Y2S_BUILD_DIR=$Y2S_PROJECT_DIR${Y2S_BUILD_SUBDIR:+/$Y2S_BUILD_SUBDIR}
  Y2S_ENV_FILE=$Y2S_STATE/environment
  export Y2S_ENV_FILE
  y2s_setup_home
  if [ -n "$Y2S_ENV_FROM" ]; then
    case $Y2S_ENV_FROM in /*) ;; *) Y2S_ENV_FROM=$PWD/$Y2S_ENV_FROM ;; esac
    y2s_load_env_file "$Y2S_ENV_FROM"
  fi
  y2s_init_env
  if [ -z "$Y2S_CACHE_DIR" ] && [ "$Y2S_NO_CACHE" = 0 ]; then
    Y2S_CACHE_DIR="$Y2S_STORE/$CIRCLE_PROJECT_USERNAME/$CIRCLE_PROJECT_REPONAME/dependencies"
  fi
  if [ "$Y2S_SERVICES" = host ] && [ "$Y2S_NEEDS_DOCKER" = 0 ]; then
    Y2S_NEEDS_CONTAINERS=0
  fi
  if [ "$Y2S_MODE" = run ] && { [ "$Y2S_NEEDS_DOCKER" = 1 ] || [ "$Y2S_NEEDS_CONTAINERS" = 1 ]; }; then
    if ! docker info >/dev/null 2>&1; then
      y2s_die "$Y2S_SOURCE needs a Docker daemon (machine.services), and \`docker info\` got no answer: start Docker${Y2S_SERVICE_NAMES:+, or pass --services=host to use $Y2S_SERVICE_NAMES already running here}"
    fi
  fi

  printf '%syml2sh build of %s%s  branch=%s tag=%s sha=%s node=%s/%s\n' "$Y2S_B" "$Y2S_SOURCE" "$Y2S_0" \
    "${CIRCLE_BRANCH:-(none)}" "${CIRCLE_TAG:-(none)}" "${CIRCLE_SHA1:0:12}" "$CIRCLE_NODE_INDEX" "$CIRCLE_NODE_TOTAL"
  if ! y2s_branch_allowed; then
    y2s_say "branch $CIRCLE_BRANCH is filtered out by general.branches in $Y2S_SOURCE: nothing to build"
    return 1
  fi
  [ -d "$Y2S_BUILD_DIR" ] || y2s_die "the build directory $Y2S_BUILD_DIR (general.build_dir) does not exist"
  [ "$Y2S_MODE" = dry-run ] || y2s_note "artifacts: $CIRCLE_ARTIFACTS  test reports: $CIRCLE_TEST_REPORTS"
  [ -z "$Y2S_ENV_FROM" ] || y2s_note "(--env-file $Y2S_ENV_FROM: $Y2S_ENV_NAMES)"
  [ -z "$Y2S_HOME" ] || y2s_note "home: ${Y2S_HOME}$([ "$Y2S_FRESH_HOME" = 0 ] || echo ' (fresh, removed at the end)')"
  if [ -n "$Y2S_ONLY" ]; then
    local p left=''
    for p in $Y2S_PHASES; do
      y2s_selected "$p" || left+="${left:+,} $p"
    done
    y2s_note "(--only $Y2S_ONLY: the commands of${left} do not run; the built-in setup of earlier phases does: environment, timezone, hosts, services, cache restore)"
  fi
  return 0
}

# The end of a build (shared with the Makefile driver): background commands stopped, artifacts
# collected whatever the outcome, then the summary, whose status is the build's.
y2s_finish() {
  y2s_kill_background
  if [ "$Y2S_MODE" = run ] && [ ${#Y2S_ARTIFACT_PATHS[@]} -gt 0 ]; then
    y2s_copy_artifacts "${Y2S_ARTIFACT_PATHS[@]}"
  fi
  y2s_summary
}

# Warns, before deployment subsection N runs, of the variables it reads that nobody set: CircleCI
# kept them in the project settings; here they come from the environment or --env-file.
y2s_check_secrets() {
  local name missing=''
  for name in ${Y2S_DEPLOYMENT_SECRETS[$1]}; do
    [ -n "${!name:-}" ] || missing+="${missing:+, }$name"
  done
  [ -z "$missing" ] ||
    y2s_warn "deployment '${Y2S_DEPLOYMENT_NAMES[$1]}' reads $missing, which nothing sets (CircleCI kept such variables in the project settings): set them in the environment or in a file given with --env-file"
}

# Deployment: only after a green build, only on node 0, the first matching subsection only; and
# nothing at all, not even a header, for a circle.yml without deployment.
y2s_deploy() {
  Y2S_PHASE=deployment Y2S_ON_FAILURE=stop Y2S_NODES=node-0 Y2S_DIR=build Y2S_PENDING=''
  [ ${#Y2S_DEPLOYMENT_NAMES[@]} -gt 1 ] || return 0
  if ! y2s_selected deployment; then
    Y2S_DEPLOY_RESULT='not run (not selected by --only)'
    return 0
  fi
  local pick name why=''
  pick=$(y2s_pick_deployment)
  name=${Y2S_DEPLOYMENT_NAMES[${pick:-0}]}
  if [ -s "$Y2S_STATE/failed" ]; then
    why='the build failed'
  elif [ "$CIRCLE_NODE_INDEX" != 0 ]; then
    why="deployment runs on node 0, this is node $CIRCLE_NODE_INDEX"
  elif [ -z "$pick" ]; then
    why="no subsection matches branch=${CIRCLE_BRANCH:-(none)} tag=${CIRCLE_TAG:-(none)} owner=$CIRCLE_PROJECT_USERNAME"
  fi
  if [ -n "$why" ]; then
    y2s_header deployment "(not run: $why)"
    Y2S_DEPLOY_RESULT="not run ($why)"
    return 0
  fi
  y2s_header deployment
  if [ "$Y2S_DEPLOY" = 0 ]; then
    y2s_say "deployment '$name' matches and would run; ${Y2S_DEPLOY_HINT:-pass --deploy to run it}"
    y2s_check_secrets "$pick"
    Y2S_DEPLOY_RESULT="'$name' matches; not run (${Y2S_DEPLOY_HINT:-pass --deploy to run it})"
    return 0
  fi
  y2s_say "deployment '$name'"
  y2s_check_secrets "$pick"
  if [ "$Y2S_MODE" = dry-run ]; then
    Y2S_DEPLOY_RESULT="'$name' would run"
  else
    Y2S_DEPLOYING=$name Y2S_DEPLOY_RESULT="'$name' succeeded"
  fi
  "y2s_deployment_$pick"
}

# ---------------------------------------------------------------------------------------------
# The Makefile driver. A generated Makefile writes this runtime to $Y2S_STATE/runtime.sh, whose
# first call (y2s_make_start) writes $Y2S_STATE/line.sh, a small file each later recipe line
# sources in make's own bash: `. "$Y2S_STATE/line.sh" [--text ID] FUNCTION ARG...` (one process
# per line besides the command's, and no 1,500 lines to parse). make keeps no shell between
# lines, so what build.sh keeps in variables (CircleCI's variables, directories, the phase, the
# command count) is saved under $Y2S_STATE after each call, restored before the next.
# ---------------------------------------------------------------------------------------------

# Writes $Y2S_STATE/line.sh: the functions a recipe line running one command calls, and for each
# other function they name a stub that first loads the rest from $Y2S_STATE/rest.sh (once, on
# the rare line that needs one: a failure, a background command), then the entry. bash prints the
# definitions itself (`declare -f`); the data block's values come with the saved context.
y2s_make_write_line() {
  local f
  local -a line=(y2s_make_enter y2s_make_entry y2s_color y2s_make_latest y2s_make_save
    y2s_enter_home y2s_make_deployment y2s_run y2s_selected y2s_stopped y2s_note y2s_show
    y2s_prelude y2s_foreground y2s_pipes y2s_own_fds y2s_sleep y2s_tell_warden y2s_copy
    y2s_survivors y2s_clock y2s_took) rest=()
  # The runtime's own functions only: one the environment exports stays the user's.
  while read -r _ _ f; do
    case $f in y2s_*) ;; *) continue ;; esac
    case " ${line[*]} " in *" $f "*) ;; *) rest+=("$f") ;; esac
  done < <(declare -F)
  declare -f "${rest[@]}" >"$Y2S_STATE/rest.sh" || return 1
  local core
  core=$(declare -f "${line[@]}")
  {
    printf '%s\n' '# One recipe line of the Makefile (written by y2s_make_write_line).' 'set -u'
    printf '%s\n' "$core"
    # Stubs only for the functions the ones above name (each costs its parse on every line);
    # y2s_make_entry loads rest.sh itself for a line calling another one.
    for f in "${rest[@]}"; do
      case $core in
        *"$f"*) printf "%s() { . \"\$Y2S_STATE/rest.sh\" && %s \"\$@\"; }\n" "$f" "$f" ;;
      esac
    done
    # The same ending as the Makefile's runtime.
    printf '%s\n' 'y2s_make_enter || exit' \
      "[ \"\$Y2S_CONTEXT\" = 0 ] || . \"\$Y2S_STATE/context.\$Y2S_CONTEXT\"" "y2s_make_entry \"\$@\""
  } >"$Y2S_STATE/line.sh"
}

# Writes every text block of the Makefile to $Y2S_STATE/text/ID, once per build (one pass over
# the file): block ID is its lines `#ID| text`, verbatim after the prefix and one space. make
# ignores comment lines whatever they hold, so the text reaches bash byte for byte; each recipe
# line then reads its own block, never the whole Makefile.
y2s_make_split() {
  local line id='' fd='' dir="$Y2S_STATE/text"
  mkdir -- "$dir" || y2s_die "cannot write in $Y2S_STATE"
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      \#[0-9]*\|* | \#env\|*)
        line=${line#\#}
        if [ "${line%%|*}" != "$id" ]; then
          [ -z "$fd" ] || exec {fd}>&-
          id=${line%%|*}
          exec {fd}>>"$dir/$id"
        fi
        line=${line#*|}
        printf '%s\n' "${line# }" >&"$fd"
        ;;
    esac
  done <"$Y2S_MAKEFILE"
  [ -z "$fd" ] || exec {fd}>&-
}

# The last context a recipe line saved: context.N for the highest N, found by doubling and
# halving (a few tests, whatever the number of lines so far).
y2s_make_latest() {
  local lo=0 hi=1 mid
  while [ -e "$Y2S_STATE/context.$hi" ]; do
    lo=$hi hi=$((hi * 2))
  done
  while [ $((hi - lo)) -gt 1 ]; do
    mid=$(((lo + hi) / 2))
    if [ -e "$Y2S_STATE/context.$mid" ]; then lo=$mid; else hi=$mid; fi
  done
  Y2S_CONTEXT=$lo
}

# Saves what the next call needs: the Y2S_ variables (the data block's arrays too) and
# CircleCI's exported ones, to a new file (rewriting a file in place costs a flush on some file
# systems), in one builtin (`declare -p`) and without starting a process. What belongs to this
# process alone (descriptors, pids, the last command's status, colours, what make exports) is
# unset first: saving is the last thing a line does.
y2s_make_save() {
  local file="$Y2S_STATE/context.$((Y2S_CONTEXT + 1))"
  unset -v Y2S_STATE Y2S_MAKEFILE Y2S_MAKE_PID Y2S_CURRENT Y2S_STATUS Y2S_TIMED_OUT Y2S_B Y2S_R \
    Y2S_G Y2S_Y Y2S_D Y2S_0 Y2S_COPIER Y2S_SLEEP_FD Y2S_CONTROL_FD Y2S_OWNER Y2S_WARDEN_OF \
    Y2S_CONTEXT
  declare -p "${!Y2S_@}" "${!CI@}" >"$file" && return 0
  # Without the context the next line would run with an older one: stop here.
  printf 'error: cannot save the build'"'"'s state in %s\n' "$file" >&2
  return 2
}

# A recipe line's start, before its context is read: colours, Y2S_CONTEXT (the context to read)
# and, for the first line, the defaults of y2s_main (the Makefile passes no options: YML2SH_*
# variables instead).
# The Makefile's runtime and line.sh end with
#   y2s_make_enter && . "$Y2S_STATE/context.$Y2S_CONTEXT" && y2s_make_entry "$@"
# (at the top level, where `declare` makes globals).
y2s_make_enter() {
  y2s_color
  { [ -n "${Y2S_STATE:-}" ] && [ -d "$Y2S_STATE" ]; } || y2s_die "make: no state directory (\$Y2S_STATE)"
  y2s_make_latest
  # The first line's; a context holds them all.
  if [ "$Y2S_CONTEXT" = 0 ]; then
    Y2S_MODE=run Y2S_DEPLOY=0
    # YML2SH_DRY_RUN=1: build.sh's --dry-run, line for line.
    [ "${YML2SH_DRY_RUN:-0}" = 0 ] || Y2S_MODE=dry-run
    y2s_defaults
  fi
}

# One recipe line: y2s_make_entry [--text ID] FUNCTION ARG..., with Y2S_STATE, Y2S_MAKEFILE and
# Y2S_MAKE_PID exported by the Makefile, after y2s_make_enter and the context it found. --text ID
# gives FUNCTION text block ID on standard input.
y2s_make_entry() {
  local text='' fn status
  if [ "${1:-}" = --text ] && [ $# -ge 2 ]; then
    text=$2
    shift 2
  fi
  fn=${1:-}
  # line.sh holds the functions running a command needs; the rest come from rest.sh.
  if ! declare -F -- "$fn" >/dev/null && [ -f "$Y2S_STATE/rest.sh" ]; then
    # shellcheck source=/dev/null # written by y2s_make_write_line
    . "$Y2S_STATE/rest.sh"
  fi
  case $fn in
    y2s_?*) declare -F -- "$fn" >/dev/null || y2s_die "make: no runtime function '$fn'" ;;
    *) y2s_die "make: not a runtime function: '$fn'" ;;
  esac
  shift
  # The user's commands see what build.sh gives them, not make's variables or the driver's.
  export -n Y2S_STATE Y2S_MAKEFILE Y2S_MAKE_PID
  unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES MAKE_TERMOUT MAKE_TERMERR
  # general.branches skipped this build at the start: every later line does nothing.
  if [ -e "$Y2S_STATE/skipped" ] && [ "$fn" != y2s_make_finish ]; then
    return 0
  fi
  # Once y2s_start has chosen the build's home (and kept the user's store) every line enters it.
  [ -z "$Y2S_STORE" ] || y2s_enter_home
  # The file's variables, in every line's process (make keeps no shell between lines).
  [ -z "$Y2S_STORE" ] || [ -z "$Y2S_ENV_FROM" ] || y2s_load_env_file "$Y2S_ENV_FROM" quiet
  Y2S_ENV_FILE=$Y2S_STATE/environment
  export Y2S_ENV_FILE
  Y2S_OWNER=$BASHPID
  trap 'y2s_make_interrupt 130' INT
  trap 'y2s_make_interrupt 143' TERM
  if [ -n "$text" ]; then
    "$fn" "$@" <"$Y2S_STATE/text/$text"
  else
    "$fn" "$@" </dev/null
  fi
  status=$?
  y2s_make_save || status=2
  return "$status"
}

y2s_make_interrupt() {
  [ "${Y2S_OWNER:-}" = "$BASHPID" ] || exit "$1"
  trap - INT
  trap '' TERM
  y2s_stop_current
  y2s_interrupt "$1"
}

# make's first line: a watcher, the build's warden (y2s_warden), which cleans up as build.sh's
# EXIT trap does if make stops early (interrupted, or a line failed), then the start of the build.
y2s_make_start() {
  if [ -n "${Y2S_MAKE_PID:-}" ] && kill -0 "$Y2S_MAKE_PID" 2>/dev/null; then
    y2s_pipes
    set -m
    (
      trap '' INT HUP
      # The build's warden while make runs (every recipe line's command), then its clean-up.
      Y2S_WARDEN_OF=$Y2S_MAKE_PID y2s_warden
      Y2S_OWNER=$BASHPID
      y2s_on_exit
    ) </dev/null >/dev/null 2>&1 &
    Y2S_WARDEN=$!
    printf '%s\n' "$!" >"$Y2S_STATE/watcher"
    set +m
  fi
  y2s_make_write_line || y2s_die "cannot write in $Y2S_STATE"
  y2s_make_split
  y2s_start || : >"$Y2S_STATE/skipped"
}

# make's last line: the end of the build, then build.sh's clean-up; its status is make's.
y2s_make_finish() {
  if [ -f "$Y2S_STATE/watcher" ]; then
    kill "$(<"$Y2S_STATE/watcher")" 2>/dev/null
  fi
  trap y2s_on_exit EXIT
  [ -e "$Y2S_STATE/skipped" ] && exit 0
  y2s_finish
  exit
}

# make's deployment step, after the phases: `notice` (make: says what would deploy), `first`
# (make deploy: the first matching subsection) or N (make deploy-NAME: subsection N, only when
# it is the first match). The chosen subsection's commands are the recipe lines that follow,
# each through y2s_make_deployment.
y2s_make_deploy() {
  Y2S_DEPLOY=1 Y2S_MAKE_WANT=''
  case $1 in
    notice) Y2S_DEPLOY=0 Y2S_DEPLOY_HINT='run make deploy to run it' ;;
    first) ;;
    *) Y2S_MAKE_WANT=$1 ;;
  esac
  if [ "$Y2S_DEPLOY" = 1 ] && ! y2s_selected deployment; then
    y2s_die "make deploy with YML2SH_ONLY=$Y2S_ONLY: deployment is not among those phases; add it or run make without deploy"
  fi
  y2s_deploy
}

# Called by y2s_deploy as y2s_deployment_N in the Makefile's runtime: subsection N runs.
y2s_make_choose() {
  if [ -n "$Y2S_MAKE_WANT" ] && [ "$1" != "$Y2S_MAKE_WANT" ]; then
    y2s_note "(not deployed: this target deploys '${Y2S_DEPLOYMENT_NAMES[Y2S_MAKE_WANT]}' only, and it is not the first match)"
    Y2S_DEPLOYING='' Y2S_DEPLOY_RESULT="not run ('${Y2S_DEPLOYMENT_NAMES[Y2S_MAKE_WANT]}' is not the first match)"
    return 0
  fi
  printf '%s\n' "$1" >"$Y2S_STATE/deploying"
}

# y2s_make_deployment N y2s_run ARG...: a command of deployment subsection N, run if N was chosen.
y2s_make_deployment() {
  local n=$1
  shift
  [ -f "$Y2S_STATE/deploying" ] && [ "$(<"$Y2S_STATE/deploying")" = "$n" ] || return 0
  "$@"
}
