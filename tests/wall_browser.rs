//! The dispatch wall in real headless Chromium against a real veghe: `veghe user add`
//! creates a dispatcher, `veghe demo` runs the simulated cameras through the real model
//! so that the pipeline raises camera alerts, and `tests/browser/wall.test.mjs`
//! (playwright-core driving Debian's chromium) signs in, sees an alert appear without a
//! reload, acknowledges it with the `a` key, and checks in a second browser session
//! that it turned acknowledged. Screenshots land in `target/screenshots/`.
//!
//! Needs Node.js with npm (the test runs `npm ci` in tests/browser when its
//! node_modules is missing) and Chromium (`apt-get install chromium`, or CHROMIUM=path).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "wall-dispatcher";
const PASSWORD: &str = "correct horse battery staple 7";

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { repo().join(p) })
        .unwrap_or_else(|| repo().join("target"))
}

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "the wall's browser test needs Chromium and none was found: install Debian's \
         chromium (apt-get install chromium; tools/test-deps.sh does) or set CHROMIUM=/path"
    );
}

/// `npm ci` in tests/browser unless playwright-core is already installed there.
fn browser_test_deps() -> PathBuf {
    let dir = repo().join("tests/browser");
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            panic!("the wall's browser test needs Node.js: install it (apt-get install nodejs npm)")
        }
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("could not run npm ({e}): install Node.js and npm (apt-get install npm)")
            });
        assert!(
            out.status.success(),
            "npm ci in {} failed:\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

/// The demo, stopped (Ctrl-C, then a kill) however the test ends.
struct Demo {
    child: Child,
    log: PathBuf,
}

impl Demo {
    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return; // already stopped (and reaped: its pid may belong to another now)
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn veghe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_veghe"));
    cmd.current_dir(repo());
    if let Some(lib) = std::env::var_os("VEGHE_ORT_LIB") {
        cmd.env(
            "VEGHE_VISION__RUNTIME_LIBRARY",
            format!("{:?}", lib.to_string_lossy()),
        );
    }
    cmd
}

#[test]
fn a_dispatcher_sees_a_pipeline_alert_live_and_acknowledges_it_for_everyone() {
    let chromium = chromium();
    let browser_dir = browser_test_deps();

    let data = std::env::temp_dir().join(format!(
        "veghe_wall_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&data).unwrap();

    // A dispatcher account, its password on standard input.
    let mut add = veghe()
        .args(["user", "add", USER, "--role", "dispatcher", "--data"])
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "veghe user add failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The whole system on embedded defaults, with simulated cameras watched by the real
    // model. A short cooldown lets a closed alert's key raise a new alert soon after.
    let (http, mqtt, cameras) = (free_addr(), free_addr(), free_addr());
    let log = data.join("veghe.log");
    let demo = veghe()
        .args([
            "demo",
            "--sensors",
            "5",
            "--interval",
            "5s",
            "--cameras",
            "4",
        ])
        .args(["--http", &http.to_string(), "--mqtt", &mqtt.to_string()])
        .args(["--camera-sim", &cameras.to_string()])
        .arg("--data")
        .arg(&data)
        .env("VEGHE_ALERTS__COOLDOWN", "\"1s\"")
        .env("VEGHE_LOG", "info,rumqttd=error,sqlx=warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(data.join("veghe.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut demo = Demo { child: demo, log };

    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(http).is_err() {
        if let Ok(Some(exit)) = demo.child.try_wait() {
            panic!("veghe demo exited with {exit}:\n{}", demo.log());
        }
        assert!(
            Instant::now() < deadline,
            "veghe demo did not listen on {http} within 60 s:\n{}",
            demo.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let shots = target_dir().join("screenshots");
    let mut node = Command::new("node")
        .arg("wall.test.mjs")
        .current_dir(&browser_dir)
        .env("VEGHE_URL", format!("http://{http}"))
        .env("VEGHE_USER", USER)
        .env("VEGHE_PASSWORD", PASSWORD)
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", &chromium)
        .env("ALERT_TIMEOUT_S", "180")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes on threads so that neither fills up; bound the whole run.
    let pipe = |r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let mut r = r;
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let stdout = pipe(Box::new(node.stdout.take().unwrap()));
    let stderr = pipe(Box::new(node.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            let _ = node.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    print!("{stdout}");
    eprint!("{stderr}");
    for line in stdout.lines().filter(|l| l.starts_with("screenshot: ")) {
        println!("wall screenshot saved: {}", &line["screenshot: ".len()..]);
    }
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!(
            "the wall's browser test failed ({s}); screenshots in {}\n--- veghe log (tail) ---\n{}",
            shots.display(),
            demo.log()
        ),
        None => panic!(
            "the wall's browser test did not finish within 300 s\n--- veghe log (tail) ---\n{}",
            demo.log()
        ),
    }
    assert!(stdout.contains("screenshot: "), "no screenshot saved");

    // veghe stops cleanly after the browsers leave.
    let _ = Command::new("kill")
        .args(["-INT", &demo.child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = demo.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "demo did not stop within 20 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "demo exited with {exit}:\n{}", demo.log());
    let text = std::fs::read_to_string(&demo.log).unwrap_or_default();
    assert!(!text.contains("panicked"), "{}", demo.log());
    let _ = std::fs::remove_dir_all(&data);
}
