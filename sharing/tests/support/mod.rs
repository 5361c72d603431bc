//! A real `redis-server` for tests: started on a free loopback port in a folder of its
//! own, persisting every write so that a restart keeps what it acknowledged; stopped
//! when dropped. `start` gives `None`, with a note, where `redis-server` is missing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RedisServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// A server on a free loopback port, persisting every write (`appendfsync always`)
    /// so that a restart in `dir` finds everything it acknowledged.
    pub fn start(dir: &Path) -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("note: redis-server is not installed; skipping the Redis tests");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Some(Self::start_on(dir, port))
    }

    fn start_on(dir: &Path, port: u16) -> RedisServer {
        std::fs::create_dir_all(dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = RedisServer {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        // Wait until it answers (it loads its append-only file first after a restart).
        for _ in 0..500 {
            if let Ok(mut c) = server.connection(0) {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {port} does not answer");
    }

    pub fn url(&self, db: u8) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    pub fn connection(&self, db: u8) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url(db))?.get_connection()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.kill();
        *self = Self::start_on(&self.dir.clone(), self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Cluster of three primaries on free loopback ports (`redis-cli --cluster
/// create`); `None`, with a note, where `redis-cli` is missing.
pub struct RedisCluster {
    nodes: Vec<Child>,
    pub ports: Vec<u16>,
}

impl RedisCluster {
    pub fn start(dir: &Path) -> Option<RedisCluster> {
        if Command::new("redis-cli").arg("--version").output().is_err()
            || Command::new("redis-server")
                .arg("--version")
                .output()
                .is_err()
        {
            eprintln!(
                "note: redis-server or redis-cli is not installed; skipping the cluster test"
            );
            return None;
        }
        let listeners: Vec<_> = (0..3)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        drop(listeners);
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            ports: ports.clone(),
        };
        for port in &ports {
            let d = dir.join(port.to_string());
            std::fs::create_dir_all(&d).unwrap();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args([
                    "--cluster-enabled",
                    "yes",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(&d)
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            cluster.nodes.push(child);
        }
        for port in &ports {
            wait_for(*port);
        }
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(ports.iter().map(|p| format!("127.0.0.1:{p}")))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "redis-cli --cluster create");
        // Every node must see every slot served before it routes.
        for port in &ports {
            for _ in 0..500 {
                let out = Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "cluster", "info"])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&out.stdout).contains("cluster_state:ok") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Some(cluster)
    }

    pub fn urls(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn wait_for(port: u16) {
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {port} does not answer");
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for c in &mut self.nodes {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
