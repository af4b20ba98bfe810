# Sourced by the scripts in bin/: exports JAVA_HOME for a JDK 25 or stops with a clear message.
_loupe_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
if [[ -z "${JAVA_HOME:-}" ]] || [[ "$(_loupe_java_major "$JAVA_HOME" 2>/dev/null)" -lt 25 ]] 2>/dev/null; then
  JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
if [[ ! -x "$JAVA_HOME/bin/java" ]] || [[ "$(_loupe_java_major "$JAVA_HOME")" -lt 25 ]]; then
  echo "loupe: needs JDK 25 or newer (tried $JAVA_HOME); set JAVA_HOME to one" >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
# A quiet Maven build for scripts, its output on stderr. Maven 3.8's -q still writes bare colour resets (ESC[0m)
# even in batch mode; they are stripped so that logs stay plain text.
loupe_mvn_quiet() {
  mvn -B -ntp -q "$@" 2>&1 | sed -u $'s/\x1b\\[[0-9;]*m//g' >&2
  return "${PIPESTATUS[0]}"
}
