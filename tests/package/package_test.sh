#!/usr/bin/env bash
# package_test.sh MODE BUILD_DIR SOURCE_DIR CXX WORK_DIR
#
# Installs the build tree BUILD_DIR into WORK_DIR/prefix, then
#   headers: compiles every installed header on its own, warnings as errors;
#   host:    builds examples/host against the installed CMake package (and
#            nothing of the build tree), runs it and checks its output; builds
#            the ten-line example of docs/embedding.md with pkg-config, checks
#            that the document shows exactly that file, and runs it.
set -euo pipefail

mode=$1 build=$2 src=$3 cxx=$4 work=$5
prefix=$work/prefix

rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

launcher=()
if command -v ccache > /dev/null; then
  launcher=(ccache)
fi

fail() {
  echo "package test: $*" >&2
  exit 1
}

case $mode in
headers)
  count=0
  while IFS= read -r header; do
    rel=${header#"$prefix/include/"}
    echo "#include <$rel>" > "$work/check.cpp"
    "${launcher[@]}" "$cxx" -std=c++17 -fsyntax-only -Werror \
      -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast \
      -DCAF_ENABLE_TYPE_ID_CHECKS \
      -I"$prefix/include" "$work/check.cpp" \
      || fail "$rel does not compile on its own"
    count=$((count + 1))
  done < <(find "$prefix/include" -name '*.hpp' | sort)
  [[ $count -gt 0 ]] || fail "no header installed"
  # Exactly the public closure: no internals.
  [[ ! -e $prefix/include/quiesce/runtime/runtime_impl.hpp ]] \
    || fail "runtime_impl.hpp is installed"
  # Only the quiesce/ prefix: no generic folder is reachable on its own.
  for generic in runtime/runtime.hpp messages/ids.hpp config/settings.hpp; do
    echo "#include <$generic>" > "$work/generic.cpp"
    if "$cxx" -std=c++17 -fsyntax-only -I"$prefix/include" "$work/generic.cpp" \
         2> /dev/null; then
      fail "<$generic> is reachable without the quiesce/ prefix"
    fi
  done
  grep -rqE '#include "(messages|execution|config|actors|runtime)/' \
    "$prefix/include" && fail "an installed header includes a generic path"
  echo "package test: $count installed headers compile on their own"
  ;;
host)
  # 1. The host program, through find_package(quiesce).
  cmake -S "$src/examples/host" -B "$work/host-build" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
    ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER=ccache} > "$work/host-configure.log" \
    || { cat "$work/host-configure.log"; fail "cannot configure the host"; }
  cmake --build "$work/host-build" > "$work/host-build.log" 2>&1 \
    || { cat "$work/host-build.log"; fail "cannot build the host"; }
  # The host must not reach into the build or source tree.
  if grep -E -q "$src/(messages|execution|actors|config|runtime)|$build/(messages|execution|actors|config|runtime)/" \
       "$work/host-build/CMakeFiles/host.dir/flags.make" \
       "$work/host-build/CMakeFiles/host.dir/link.txt"; then
    fail "the host build uses the source or build tree"
  fi
  (cd "$work" && timeout 300 "$work/host-build/host" "$src/examples/host/jobs.toml") \
    > "$work/host.out" 2>&1 || { cat "$work/host.out"; fail "the host failed"; }
  cat "$work/host.out"
  grep -q "^host: from-file finished, built-in-code cancelled$" "$work/host.out" \
    || fail "unexpected host outcome"
  grep -q "^event: job .*: running -> cancelled" "$work/host.out" \
    || fail "no cancel event printed"

  # 2. The ten-line example, through pkg-config; the document shows it.
  example=$src/tests/package/ten_lines.cpp
  awk '/<!-- ten-lines:begin -->/{on=1; next} /<!-- ten-lines:end -->/{on=0} on' \
    "$src/docs/embedding.md" | sed '1d;$d' > "$work/doc_example.cpp"
  diff -u "$example" "$work/doc_example.cpp" \
    || fail "docs/embedding.md does not show tests/package/ten_lines.cpp"
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
  # A shared build's libraries lie outside the loader's paths here: the
  # program says where, as docs/embedding.md tells pkg-config users to.
  rpath=()
  if [[ -e $prefix/lib/libquiesce_runtime.so ]]; then
    rpath=("-Wl,-rpath,$prefix/lib")
  fi
  # shellcheck disable=SC2046
  "${launcher[@]}" "$cxx" -std=c++17 -o "$work/ten_lines" "$example" \
    $(pkg-config --cflags --libs quiesce) "${rpath[@]}" \
    || fail "the ten-line example does not build with pkg-config"
  (cd "$src/tests/package" && timeout 120 "$work/ten_lines") > "$work/ten.out" 2>&1 \
    || { cat "$work/ten.out"; fail "the ten-line example failed"; }
  cat "$work/ten.out"
  grep -q "hello from task" "$work/ten.out" || fail "no greeting"
  ;;
tools)
  # The binary, its man pages, completion and units, and nothing else needed.
  "$prefix/bin/quiesce" --version | grep -q "^quiesce " \
    || fail "bin/quiesce does not run"
  # A shared build: the installed binary loads the installed libraries
  # (RUNPATH $ORIGIN/../lib), never the build tree's, and each has a
  # versioned soname.
  if [[ -e $prefix/lib/libquiesce_runtime.so ]]; then
    ldd "$prefix/bin/quiesce" > "$work/ldd.txt"
    grep -q "libquiesce_runtime" "$work/ldd.txt" \
      || fail "bin/quiesce does not use libquiesce_runtime.so"
    if grep "libquiesce_" "$work/ldd.txt" | grep -v "=> $prefix/" | grep -q .; then
      cat "$work/ldd.txt"
      fail "bin/quiesce loads a Quiesce library from outside $prefix"
    fi
    for lib in "$prefix"/lib/libquiesce_*.so; do
      readelf -d "$lib" | grep -q "SONAME.*${lib##*/}\.[0-9]" \
        || fail "${lib##*/} has no versioned soname"
    done
  fi
  for page in quiesce quiesce-run quiesce-head quiesce-node quiesce-cancel-job \
              quiesce-list-tasks; do
    [[ -s $prefix/share/man/man1/$page.1 ]] || fail "no man page $page.1"
  done
  # The man page says what --help says: every option of `cancel job`.
  "$prefix/bin/quiesce" cancel job --help > "$work/help.txt"
  for opt in --if-active --message --head --timeout --json; do
    grep -q -- "$opt" "$work/help.txt" || fail "help lacks $opt"
    grep -qF -- "${opt//-/\\-}" "$prefix/share/man/man1/quiesce-cancel-job.1" \
      || fail "quiesce-cancel-job.1 lacks $opt"
  done
  if command -v man > /dev/null; then
    MANPAGER=cat man -l "$prefix/share/man/man1/quiesce-run.1" > /dev/null 2>&1 \
      || fail "man cannot read quiesce-run.1"
  fi
  comp=$prefix/share/bash-completion/completions/quiesce
  [[ -s $comp ]] || fail "no bash completion"
  # Complete "quiesce can" and "quiesce cancel job --if" in a bash.
  out=$(bash -c "source '$comp'; COMP_WORDS=(quiesce can); COMP_CWORD=1; \
    _quiesce; echo \"\${COMPREPLY[*]}\"")
  [[ $out == cancel ]] || fail "completion of 'quiesce can' gave '$out'"
  out=$(bash -c "source '$comp'; COMP_WORDS=(quiesce cancel job --if); \
    COMP_CWORD=3; _quiesce; echo \"\${COMPREPLY[*]}\"")
  [[ $out == --if-active ]] || fail "completion of '--if' gave '$out'"
  for unit in quiesce-head.service quiesce-node.service; do
    f=$prefix/lib/systemd/system/$unit
    [[ -s $f ]] || fail "no unit $unit"
    grep -q '^Type=notify$' "$f" || fail "$unit is not Type=notify"
    grep -q "^ExecStart=$prefix/bin/quiesce \|^ExecStart=/.*/bin/quiesce " "$f" \
      || fail "$unit does not start the installed quiesce"
    # The environment file is under the configured SYSCONFDIR, not a fixed
    # /etc (the build's prefix is /usr/local unless configured otherwise).
    role=${unit#quiesce-}
    role=${role%.service}
    grep -q "^EnvironmentFile=-/.*etc/quiesce/$role.env\$" "$f" \
      || fail "$unit reads no SYSCONFDIR/quiesce/$role.env"
    grep -q "@" "$f" && fail "$unit has an unconfigured @VARIABLE@"
    if command -v systemd-analyze > /dev/null; then
      systemd-analyze verify "$f" > "$work/verify.log" 2>&1 || true
    fi
  done
  echo "package test: binary, man pages, completion and units installed"
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
