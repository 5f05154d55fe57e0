//! A simulated host on disk: a home directory with the release artifacts, the app's state
//! files, its logs, and small POSIX `sh` tools in `~/bin` standing in for systemctl, alembic and
//! the artifact store. The profile's steps run these tools; the app (see `app.rs`) reads the
//! same files, so a restart in a step is a restart the app goes through.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::Scenario;

/// The release running when the demo starts, and the one it deploys.
pub const PREVIOUS: &str = "v1.4.2";
pub const NEXT: &str = "v1.5.0";
/// The release web-3 was left on in the mixed-fleet scenario (its last deploy never finished).
pub const OLDER: &str = "v1.4.1";

/// What ships from PREVIOUS to NEXT: the log `git log --oneline` would print, newest first.
const CHANGES: &str = "\
9d4e1a7 Make orders.currency NOT NULL after the backfill
5b27c90 Backfill orders.currency from the shop's default
e3f0a12 Add orders.currency (nullable)
c81b6d4 Show prices in the customer's currency at checkout
a1b2c3d Fix the cart total rounding on discounts over 100%
70fe2b9 Sign outgoing webhooks with the rotated key
";

/// Writes what ships where the profile's `changes` reads it (`changes/PREVIOUS..NEXT` in
/// `dir`): the demo has no repository to run `git log` in.
pub fn write_changes(dir: &Path) -> std::io::Result<()> {
    let changes = dir.join("changes");
    std::fs::create_dir_all(&changes)?;
    std::fs::write(changes.join(format!("{PREVIOUS}..{NEXT}")), CHANGES)
}

/// The schema revisions: now, after the first migration, and head.
const REV_NOW: &str = "3f2a9c1e0b7d";
const REV_MID: &str = "7c1d44e2a9f0";
const REV_HEAD: &str = "9e8b1f0c3d21";

/// Makes `name`'s home under `root`, as the scenario wants it. Returns the home.
pub fn make(root: &Path, name: &str, scenario: Scenario) -> std::io::Result<PathBuf> {
    let home = root.join(name);
    for dir in ["bin", "app", "log", "db"] {
        std::fs::create_dir_all(home.join(dir))?;
    }
    std::fs::write(
        home.join(".gonogo-demo-host"),
        format!(
            "{name}: a host simulated by gonogo demo ({})\n",
            scenario.name()
        ),
    )?;
    // The release this host runs now: web-3 is behind the others in the mixed fleet.
    let running = if scenario == Scenario::MixedFleet && name == "web-3" {
        OLDER
    } else {
        PREVIOUS
    };
    for version in [running, PREVIOUS, NEXT] {
        let release = home.join("releases").join(version);
        std::fs::create_dir_all(&release)?;
        std::fs::write(release.join("SHA256SUMS"), sums(version))?;
    }
    // The artifact of the next release is still arriving on one host.
    if scenario == Scenario::FlakyHost && name == "web-2" {
        std::fs::write(
            home.join("releases").join(NEXT).join(".syncing"),
            "212 of 230 MB",
        )?;
    }
    std::fs::write(home.join("app/running"), format!("{running}\n"))?;
    std::fs::write(home.join("db/revision"), format!("{REV_NOW}\n"))?;
    // A nightly report query holds a lock on `orders` right when the migration needs it.
    if scenario == Scenario::FailedMigration {
        std::fs::write(
            home.join("db/blocked-by"),
            "pid 48213 (nightly_revenue_report, running 41 min)\n",
        )?;
    }
    for (tool, text) in [
        ("appctl", APPCTL),
        ("artifact", ARTIFACT),
        ("db", DB),
        ("smoke", SMOKE),
    ] {
        let path = home.join("bin").join(tool);
        std::fs::write(&path, fill(text))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    for log in ["gunicorn.log", "celery.log"] {
        std::fs::write(home.join("log").join(log), "")?;
    }
    Ok(home)
}

fn sums(version: &str) -> String {
    use sha2::Digest as _;
    let digest: String = sha2::Sha256::digest(format!("acme-shop {version}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{digest}  acme-shop-{version}.tar.gz\n")
}

/// The service manager: stage a release, restart on one (the app follows `~/app/wanted`),
/// roll back to the release it ran before (the one `current` found, else the one staged over),
/// say which one runs.
const APPCTL: &str = r#"#!/bin/sh
# appctl: systemctl and the release directory of a host simulated by gonogo demo.
app="$HOME/app"
running() { cat "$app/running" 2>/dev/null; }
restart() {
  printf '%s\n' "$1" > "$app/wanted"
  echo "systemctl restart gunicorn: $(running) -> $1"
  i=0
  while [ "$(running)" != "$1" ]; do
    i=$((i + 1))
    if [ "$i" -gt 150 ]; then echo "gunicorn did not come up on $1 within 30s" >&2; exit 1; fi
    sleep 0.2
  done
  echo "gunicorn active (running) on $1, local health 200 after $((i / 5)).$((i % 5 * 2))s"
}
case "$1" in
  stage)
    test -d "$HOME/releases/$2" || { echo "no release $2 in ~/releases" >&2; exit 1; }
    if [ "$(running)" != "$2" ]; then running > "$app/previous"; fi
    echo "unpacked $2 to ~/releases/$2; rollback target: $(cat "$app/previous")"
    ;;
  unstage)
    if [ "$(running)" = "$2" ]; then echo "gunicorn still runs $2: restart the previous release first" >&2; exit 1; fi
    rm -f "$app/previous"
    echo "unstaged $2: ~/releases/$2 is no longer the release to run; this host runs $(running)"
    ;;
  restart) restart "$2" ;;
  rollback)
    if [ ! -f "$app/previous" ]; then
      echo "nothing to roll back: this host still runs $(running), the release was never staged here"
      exit 0
    fi
    prev=${2:-$(cat "$app/previous")}
    if [ "$(running)" = "$prev" ]; then echo "already on $prev"; exit 0; fi
    restart "$prev"
    ;;
  running)
    if [ "$(running)" = "$2" ]; then echo "runs $2"; else echo "runs $(running), not $2" >&2; exit 1; fi
    ;;
  *) echo "usage: appctl stage|unstage|restart VERSION | rollback [VERSION] | running VERSION" >&2; exit 2 ;;
esac
"#;

/// The artifact store's check: checksums of a release, or how far its sync got.
const ARTIFACT: &str = r#"#!/bin/sh
# artifact: release artifacts on a host simulated by gonogo demo.
d="$HOME/releases/$2"
test -f "$d/SHA256SUMS" || { echo "no release $2 on this host" >&2; exit 1; }
if [ -f "$d/.syncing" ]; then
  echo "acme-shop-$2.tar.gz: $(cat "$d/.syncing"), still syncing from the build server" >&2
  rm -f "$d/.syncing"
  exit 1
fi
sed 's/  / /' "$d/SHA256SUMS"
echo "acme-shop-$2.tar.gz: OK"
"#;

/// alembic, as far as the demo needs it.
const DB: &str = r#"#!/bin/sh
# db: the database as seen from a host simulated by gonogo demo (alembic's words).
rev() { cat "$HOME/db/revision"; }
say() { echo "INFO  [alembic.runtime.migration] $*"; sleep 0.4; }
case "$1" in
  current)
    echo "postgresql://shop@db-1.internal:5432/shop: connected in 3 ms"
    echo "$(rev) (head of $PREVIOUS)"
    ;;
  upgrade)
    say "Context impl PostgresqlImpl."
    say "Will assume transactional DDL."
    say "Running upgrade REV_NOW -> REV_MID, add orders.currency"
    printf '%s\n' REV_MID > "$HOME/db/revision"
    if [ -f "$HOME/db/blocked-by" ]; then
      sleep 1
      echo "Running upgrade REV_MID -> REV_HEAD, backfill orders.currency and make it NOT NULL"
      sleep 2
      printf '%s%s\n' "sqlalchemy.exc.OperationalError: (psycopg2.errors.LockNotAvailable) " \
        "canceling statement due to lock timeout" >&2
      echo "  the lock on table orders is held by $(cat "$HOME/db/blocked-by")" >&2
      echo "  the schema is now at REV_MID: orders.currency exists, nullable, not backfilled" >&2
      exit 1
    fi
    say "Running upgrade REV_MID -> REV_HEAD, backfill orders.currency and make it NOT NULL"
    printf '%s\n' REV_HEAD > "$HOME/db/revision"
    echo "REV_HEAD (head)"
    ;;
  *) echo "usage: db current|upgrade" >&2; exit 2 ;;
esac
"#;

/// The smoke tests, read-only, a few seconds long.
const SMOKE: &str = r#"#!/bin/sh
# smoke: the read-only smoke tests of acme-shop, on a host simulated by gonogo demo.
echo "platform linux -- Python 3.12.7, pytest-8.3.3 -- acme-shop $1"
for t in test_health test_login test_catalog_lists_products test_cart_add_remove \
         test_checkout_quote test_order_history test_webhooks_refuse_unsigned test_static_assets; do
  sleep 0.3
  echo "tests/smoke/test_shop.py::$t PASSED"
done
echo "8 passed in 2.47s"
"#;

/// The tools with the revisions and versions filled in.
fn fill(text: &str) -> String {
    text.replace("REV_NOW", REV_NOW)
        .replace("REV_MID", REV_MID)
        .replace("REV_HEAD", REV_HEAD)
        .replace("$PREVIOUS", PREVIOUS)
}
