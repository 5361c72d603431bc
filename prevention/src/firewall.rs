//! The Linux firewall backends. Each keeps to objects of its own, so clearing them
//! removes what slipstream added and nothing else:
//!
//! * nftables: table `inet slipstream`, with the sets `blocked4` (ipv4_addr) and
//!   `blocked6` (ipv6_addr), both `flags timeout`, and drop rules in the input, forward
//!   and output hooks; a block is a set element with a timeout, so the kernel itself
//!   unblocks the address when its time is up;
//! * iptables (where nftables is absent): chain `slipstreamBlocking` in the filter
//!   table of `iptables` and `ip6tables`, jumped to first from INPUT, FORWARD and OUTPUT
//!   (Slips' `slipsBlocking` design); a block is two DROP rules (from and to the address),
//!   and unblocking is the caller's job.
//!
//! Both drop all traffic from and to the address: to this sensor, from it, and through
//! it when it routes. Commands run through a [`Runner`], so the rule text and command
//! sequences are tested without root.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use detectors::config::FirewallChoice;

/// The nftables table (family `inet`: IPv4 and IPv6).
pub const NFT_TABLE: &str = "slipstream";
/// The iptables / ip6tables chain.
pub const IPTABLES_CHAIN: &str = "slipstreamBlocking";
/// The built-in chains that jump to ours.
const IPTABLES_HOOKS: [&str; 3] = ["INPUT", "FORWARD", "OUTPUT"];
/// Most copies of one jump removed when clearing (an earlier crash may have left several).
const MAX_JUMP_COPIES: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FirewallError(pub String);

/// The programs the backends run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tool {
    Nft,
    Iptables,
    Ip6tables,
}

impl Tool {
    pub fn program(self) -> &'static str {
        match self {
            Tool::Nft => "nft",
            Tool::Iptables => "iptables",
            Tool::Ip6tables => "ip6tables",
        }
    }

    fn for_ip(ip: IpAddr) -> Tool {
        if ip.is_ipv4() {
            Tool::Iptables
        } else {
            Tool::Ip6tables
        }
    }
}

/// Runs firewall commands.
pub trait Runner: Send {
    /// Whether `tool` is installed.
    fn has(&self, tool: Tool) -> bool;
    /// Runs `tool args`, with `input` on its standard input; its standard output when it
    /// exits with 0, else an error naming the command and what it printed.
    fn run(&mut self, tool: Tool, args: &[&str], input: Option<&str>) -> Result<String, String>;
}

/// Runs the real programs, found in `PATH` or the sbin folders (which a user's `PATH`
/// often lacks).
#[derive(Clone, Debug, Default)]
pub struct SystemRunner {
    nft: Option<PathBuf>,
    iptables: Option<PathBuf>,
    ip6tables: Option<PathBuf>,
}

impl SystemRunner {
    pub fn new() -> Self {
        SystemRunner {
            nft: find_program("nft"),
            iptables: find_program("iptables"),
            ip6tables: find_program("ip6tables"),
        }
    }

    fn path(&self, tool: Tool) -> Option<&Path> {
        match tool {
            Tool::Nft => self.nft.as_deref(),
            Tool::Iptables => self.iptables.as_deref(),
            Tool::Ip6tables => self.ip6tables.as_deref(),
        }
    }
}

impl Runner for SystemRunner {
    fn has(&self, tool: Tool) -> bool {
        self.path(tool).is_some()
    }

    fn run(&mut self, tool: Tool, args: &[&str], input: Option<&str>) -> Result<String, String> {
        let shown = format!("{} {}", tool.program(), args.join(" "));
        let path = self
            .path(tool)
            .ok_or_else(|| format!("{shown}: {} is not installed", tool.program()))?;
        let mut child = Command::new(path)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{shown}: {e}"))?;
        if let Some(text) = input {
            use std::io::Write;
            // Dropped at the end of the block: the program sees the end of its input.
            let mut stdin = child.stdin.take().expect("stdin was piped");
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| format!("{shown}: writing its input: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{shown}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(format!("{shown}: {} ({})", err.trim(), out.status))
        }
    }
}

/// `name` in `PATH` or in the usual sbin folders.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A firewall slipstream can block addresses in.
pub trait Firewall: Send {
    fn name(&self) -> &'static str;
    /// Creates slipstream's own objects afresh (what an earlier run left is removed first,
    /// as Slips does).
    fn setup(&mut self) -> Result<(), FirewallError>;
    /// Drops all traffic from and to `ip`; for `timeout` when the firewall can expire
    /// it (see [`Firewall::expires_blocks`]). Blocking an address already blocked renews
    /// its timeout.
    fn block(&mut self, ip: IpAddr, timeout: Option<Duration>) -> Result<(), FirewallError>;
    /// Removes the block of `ip`; not an error when it is not blocked.
    fn unblock(&mut self, ip: IpAddr) -> Result<(), FirewallError>;
    /// Removes everything slipstream added; `Ok(false)` when there was nothing.
    fn clear(&mut self) -> Result<bool, FirewallError>;
    /// Whether the firewall ends a block by itself when its timeout passes (else the
    /// caller unblocks).
    fn expires_blocks(&self) -> bool;
}

/// nftables through `nft -f -`: each change is one atomic batch.
pub struct Nftables<R: Runner> {
    runner: R,
}

impl<R: Runner> Nftables<R> {
    pub fn new(runner: R) -> Self {
        Nftables { runner }
    }

    /// The batch that replaces our table with an empty one (the `add` first makes the
    /// `delete` valid when there is no table yet).
    pub fn setup_script() -> String {
        let t = NFT_TABLE;
        format!(
            "add table inet {t}\n\
             delete table inet {t}\n\
             table inet {t} {{\n\
             \tset blocked4 {{ type ipv4_addr; flags timeout; }}\n\
             \tset blocked6 {{ type ipv6_addr; flags timeout; }}\n\
             \tchain input {{\n\
             \t\ttype filter hook input priority filter - 10; policy accept;\n\
             \t\tip saddr @blocked4 counter drop\n\
             \t\tip6 saddr @blocked6 counter drop\n\
             \t}}\n\
             \tchain forward {{\n\
             \t\ttype filter hook forward priority filter - 10; policy accept;\n\
             \t\tip saddr @blocked4 counter drop\n\
             \t\tip daddr @blocked4 counter drop\n\
             \t\tip6 saddr @blocked6 counter drop\n\
             \t\tip6 daddr @blocked6 counter drop\n\
             \t}}\n\
             \tchain output {{\n\
             \t\ttype filter hook output priority filter - 10; policy accept;\n\
             \t\tip daddr @blocked4 counter drop\n\
             \t\tip6 daddr @blocked6 counter drop\n\
             \t}}\n\
             }}\n"
        )
    }

    /// Adds `ip` to its set. `add` leaves an existing element's timeout as it was, so
    /// the element is added (making the delete valid), deleted and added again with the
    /// new timeout, in one batch.
    pub fn block_script(ip: IpAddr, timeout: Option<Duration>) -> String {
        let set = nft_set(ip);
        let timeout = timeout.map_or(String::new(), |d| {
            // Whole seconds, rounded up: never shorter than asked, and at least 1 s.
            let secs = d.as_millis().div_ceil(1000).max(1);
            format!(" timeout {secs}s")
        });
        format!(
            "add element inet {NFT_TABLE} {set} {{ {ip} }}\n\
             delete element inet {NFT_TABLE} {set} {{ {ip} }}\n\
             add element inet {NFT_TABLE} {set} {{ {ip}{timeout} }}\n"
        )
    }

    pub fn unblock_script(ip: IpAddr) -> String {
        let set = nft_set(ip);
        format!(
            "add element inet {NFT_TABLE} {set} {{ {ip} }}\n\
             delete element inet {NFT_TABLE} {set} {{ {ip} }}\n"
        )
    }

    pub fn clear_script() -> String {
        format!("delete table inet {NFT_TABLE}\n")
    }

    fn apply(&mut self, script: &str) -> Result<String, FirewallError> {
        self.runner
            .run(Tool::Nft, &["-f", "-"], Some(script))
            .map_err(FirewallError)
    }

    /// Whether our table exists (an error when nft cannot even list the tables, e.g.
    /// for lack of privileges: that is not "nothing to clear").
    fn table_exists(&mut self) -> Result<bool, FirewallError> {
        let tables = self
            .runner
            .run(Tool::Nft, &["list", "tables"], None)
            .map_err(FirewallError)?;
        let ours = format!("table inet {NFT_TABLE}");
        Ok(tables.lines().any(|l| l.trim() == ours))
    }
}

fn nft_set(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "blocked4"
    } else {
        "blocked6"
    }
}

impl<R: Runner> Firewall for Nftables<R> {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn setup(&mut self) -> Result<(), FirewallError> {
        self.apply(&Self::setup_script()).map(drop)
    }

    fn block(&mut self, ip: IpAddr, timeout: Option<Duration>) -> Result<(), FirewallError> {
        self.apply(&Self::block_script(ip, timeout)).map(drop)
    }

    fn unblock(&mut self, ip: IpAddr) -> Result<(), FirewallError> {
        self.apply(&Self::unblock_script(ip)).map(drop)
    }

    fn clear(&mut self) -> Result<bool, FirewallError> {
        if !self.table_exists()? {
            return Ok(false);
        }
        self.apply(&Self::clear_script()).map(|_| true)
    }

    fn expires_blocks(&self) -> bool {
        true
    }
}

/// iptables and ip6tables (for IPv6 addresses), each with our chain.
pub struct Iptables<R: Runner> {
    runner: R,
}

impl<R: Runner> Iptables<R> {
    pub fn new(runner: R) -> Self {
        Iptables { runner }
    }

    /// The commands that create our chain and its jumps in one of the two tools.
    pub fn setup_commands() -> Vec<Vec<String>> {
        let mut cmds = vec![args(&["-w", "-N", IPTABLES_CHAIN])];
        for hook in IPTABLES_HOOKS {
            cmds.push(args(&["-w", "-I", hook, "1", "-j", IPTABLES_CHAIN]));
        }
        cmds
    }

    /// The two rules of a block: traffic from the address, and to it.
    pub fn block_rules(ip: IpAddr) -> [Vec<String>; 2] {
        let ip = ip.to_string();
        [
            args(&[IPTABLES_CHAIN, "-s", &ip, "-j", "DROP"]),
            args(&[IPTABLES_CHAIN, "-d", &ip, "-j", "DROP"]),
        ]
    }

    fn run(&mut self, tool: Tool, op: &str, rest: &[String]) -> Result<String, String> {
        let mut a: Vec<&str> = vec!["-w", op];
        a.extend(rest.iter().map(String::as_str));
        self.runner.run(tool, &a, None)
    }

    fn tools(&self) -> Vec<Tool> {
        [Tool::Iptables, Tool::Ip6tables]
            .into_iter()
            .filter(|t| self.runner.has(*t))
            .collect()
    }

    /// Removes our chain from one tool; `Ok(false)` when it was not there (an error
    /// when the rules cannot even be listed, e.g. for lack of privileges).
    fn clear_tool(&mut self, tool: Tool) -> Result<bool, FirewallError> {
        let chain = vec![IPTABLES_CHAIN.to_string()];
        let rules = self.run(tool, "-S", &[]).map_err(FirewallError)?;
        let ours = format!("-N {IPTABLES_CHAIN}");
        if !rules.lines().any(|l| l.trim() == ours) {
            return Ok(false);
        }
        for hook in IPTABLES_HOOKS {
            let jump = args(&[hook, "-j", IPTABLES_CHAIN]);
            for _ in 0..MAX_JUMP_COPIES {
                if self.run(tool, "-D", &jump).is_err() {
                    break;
                }
            }
        }
        self.run(tool, "-F", &chain).map_err(FirewallError)?;
        self.run(tool, "-X", &chain).map_err(FirewallError)?;
        Ok(true)
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

impl<R: Runner> Firewall for Iptables<R> {
    fn name(&self) -> &'static str {
        "iptables"
    }

    fn setup(&mut self) -> Result<(), FirewallError> {
        if !self.runner.has(Tool::Iptables) {
            return Err(FirewallError("iptables is not installed".into()));
        }
        for tool in self.tools() {
            self.clear_tool(tool)?;
            for cmd in Self::setup_commands() {
                let a: Vec<&str> = cmd.iter().map(String::as_str).collect();
                self.runner.run(tool, &a, None).map_err(FirewallError)?;
            }
        }
        Ok(())
    }

    fn block(&mut self, ip: IpAddr, _timeout: Option<Duration>) -> Result<(), FirewallError> {
        let tool = Tool::for_ip(ip);
        for rule in Self::block_rules(ip) {
            // -C: the rule is there already (a renewed block); one copy is enough.
            if self.run(tool, "-C", &rule).is_err() {
                self.run(tool, "-I", &rule).map_err(FirewallError)?;
            }
        }
        Ok(())
    }

    fn unblock(&mut self, ip: IpAddr) -> Result<(), FirewallError> {
        let tool = Tool::for_ip(ip);
        for rule in Self::block_rules(ip) {
            while self.run(tool, "-C", &rule).is_ok() {
                self.run(tool, "-D", &rule).map_err(FirewallError)?;
            }
        }
        Ok(())
    }

    fn clear(&mut self) -> Result<bool, FirewallError> {
        let mut any = false;
        for tool in self.tools() {
            any |= self.clear_tool(tool)?;
        }
        Ok(any)
    }

    fn expires_blocks(&self) -> bool {
        false
    }
}

/// Whether `nft` is installed and answers (it can be installed on a kernel without
/// nf_tables, or be refused for lack of privileges).
fn nft_works(runner: &mut SystemRunner) -> Result<(), String> {
    if !runner.has(Tool::Nft) {
        return Err("nft is not installed".into());
    }
    runner.run(Tool::Nft, &["list", "tables"], None).map(drop)
}

fn is_permission_error(message: &str) -> bool {
    message.contains("Operation not permitted") || message.contains("Permission denied")
}

/// The firewall to block with: nftables by default, iptables where nftables is
/// absent or does not work.
pub fn open(choice: FirewallChoice) -> Result<Box<dyn Firewall>, FirewallError> {
    let mut runner = SystemRunner::new();
    match choice {
        FirewallChoice::Nftables => {
            nft_works(&mut runner).map_err(FirewallError)?;
            Ok(Box::new(Nftables::new(runner)))
        }
        FirewallChoice::Iptables => {
            if !runner.has(Tool::Iptables) {
                return Err(FirewallError("iptables is not installed".into()));
            }
            Ok(Box::new(Iptables::new(runner)))
        }
        FirewallChoice::Auto => match nft_works(&mut runner) {
            Ok(()) => Ok(Box::new(Nftables::new(runner))),
            // Refused for lack of privileges: iptables would be refused too, and nft's
            // own words are the clearer ones.
            Err(e) if is_permission_error(&e) => Err(FirewallError(e)),
            Err(_) if runner.has(Tool::Iptables) => Ok(Box::new(Iptables::new(runner))),
            Err(e) => Err(FirewallError(format!(
                "no usable firewall: {e}, and iptables is not installed"
            ))),
        },
    }
}

/// Every firewall installed here, to clear what any earlier run left in either.
pub fn installed() -> Vec<Box<dyn Firewall>> {
    let runner = SystemRunner::new();
    let mut all: Vec<Box<dyn Firewall>> = Vec::new();
    if runner.has(Tool::Nft) {
        all.push(Box::new(Nftables::new(runner.clone())));
    }
    if runner.has(Tool::Iptables) || runner.has(Tool::Ip6tables) {
        all.push(Box::new(Iptables::new(runner)));
    }
    all
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A firewall in memory: records every command, and answers `-S`/`-C`/`list table`
    /// from what earlier commands created, as the real tools do.
    #[derive(Default)]
    pub struct FakeRunner {
        pub commands: Vec<String>,
        pub missing: HashSet<&'static str>,
        /// Commands (with their input) containing one of these fail.
        pub fail_matching: Vec<String>,
        pub chains: HashSet<String>,
        pub rules: Vec<String>,
        pub nft_table: bool,
    }

    impl Runner for FakeRunner {
        fn has(&self, tool: Tool) -> bool {
            !self.missing.contains(tool.program())
        }

        fn run(
            &mut self,
            tool: Tool,
            args: &[&str],
            input: Option<&str>,
        ) -> Result<String, String> {
            let line = format!("{} {}", tool.program(), args.join(" "));
            let recorded = match input {
                Some(i) => format!("{line} <<{i}"),
                None => line.clone(),
            };
            let refused = self.fail_matching.iter().any(|f| recorded.contains(f));
            self.commands.push(recorded);
            if refused {
                return Err(format!("{line}: refused"));
            }
            if tool == Tool::Nft {
                return match args {
                    ["list", "tables"] if self.nft_table => Ok("table inet slipstream\n".into()),
                    ["-f", "-"] => {
                        let i = input.unwrap_or("");
                        if i.contains("table inet slipstream {") {
                            self.nft_table = true;
                        } else if i.starts_with("delete table") {
                            self.nft_table = false;
                        }
                        Ok(String::new())
                    }
                    _ => Ok(String::new()),
                };
            }
            let key = |rest: &[&str]| format!("{} {}", tool.program(), rest.join(" "));
            match args {
                ["-w", "-S"] => Ok(self
                    .chains
                    .iter()
                    .filter_map(|c| c.strip_prefix(&key(&[])))
                    .map(|c| format!("-N {}\n", c.trim()))
                    .collect()),
                ["-w", "-N", chain] => {
                    self.chains.insert(key(&[chain]));
                    Ok(String::new())
                }
                ["-w", "-S", chain] | ["-w", "-F", chain] => {
                    if self.chains.contains(&key(&[chain])) {
                        Ok(String::new())
                    } else {
                        Err(format!("{line}: No chain/target/match by that name"))
                    }
                }
                ["-w", "-X", chain] => {
                    self.chains.remove(&key(&[chain]));
                    self.rules.retain(|r| !r.starts_with(&key(&[chain])));
                    Ok(String::new())
                }
                ["-w", "-I", rest @ ..] => {
                    let rest: Vec<&str> = rest.iter().copied().filter(|a| *a != "1").collect();
                    self.rules.push(key(&rest));
                    Ok(String::new())
                }
                ["-w", "-C", rest @ ..] => {
                    if self.rules.contains(&key(rest)) {
                        Ok(String::new())
                    } else {
                        Err("Bad rule".into())
                    }
                }
                ["-w", "-D", rest @ ..] => match self.rules.iter().position(|r| *r == key(rest)) {
                    Some(i) => {
                        self.rules.remove(i);
                        Ok(String::new())
                    }
                    None => Err("Bad rule".into()),
                },
                _ => Ok(String::new()),
            }
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn nft_setup_replaces_our_table_only() {
        let s = Nftables::<FakeRunner>::setup_script();
        assert!(s.starts_with(
            "add table inet slipstream\ndelete table inet slipstream\ntable inet slipstream {\n"
        ));
        assert!(s.contains("set blocked4 { type ipv4_addr; flags timeout; }"));
        assert!(s.contains("set blocked6 { type ipv6_addr; flags timeout; }"));
        for hook in ["input", "forward", "output"] {
            assert!(
                s.contains(&format!("type filter hook {hook} priority filter - 10;")),
                "{hook}"
            );
        }
        assert!(s.contains("ip saddr @blocked4 counter drop"));
        assert!(s.contains("ip6 daddr @blocked6 counter drop"));
        // Nothing outside our table is named.
        for line in s
            .lines()
            .filter(|l| l.starts_with("add") || l.starts_with("delete"))
        {
            assert!(line.ends_with("inet slipstream"), "{line}");
        }
        assert_eq!(
            Nftables::<FakeRunner>::clear_script(),
            "delete table inet slipstream\n"
        );
    }

    #[test]
    fn nft_block_renews_the_timeout_in_one_batch() {
        let s = Nftables::<FakeRunner>::block_script(
            ip("10.1.0.2"),
            Some(Duration::from_millis(27_001)),
        );
        assert_eq!(
            s,
            "add element inet slipstream blocked4 { 10.1.0.2 }\n\
             delete element inet slipstream blocked4 { 10.1.0.2 }\n\
             add element inet slipstream blocked4 { 10.1.0.2 timeout 28s }\n"
        );
        let s = Nftables::<FakeRunner>::block_script(ip("2001:db8::7"), None);
        assert!(s.ends_with("add element inet slipstream blocked6 { 2001:db8::7 }\n"));
        let s =
            Nftables::<FakeRunner>::block_script(ip("10.1.0.2"), Some(Duration::from_millis(10)));
        assert!(s.contains("timeout 1s"), "{s}");
        assert_eq!(
            Nftables::<FakeRunner>::unblock_script(ip("2001:db8::7")),
            "add element inet slipstream blocked6 { 2001:db8::7 }\n\
             delete element inet slipstream blocked6 { 2001:db8::7 }\n"
        );
    }

    #[test]
    fn nft_runs_through_nft_f_and_clears_only_what_exists() {
        let mut fw = Nftables::new(FakeRunner::default());
        assert!(fw.expires_blocks());
        assert_eq!(fw.clear(), Ok(false));
        fw.setup().unwrap();
        fw.block(ip("10.1.0.2"), Some(Duration::from_secs(60)))
            .unwrap();
        assert_eq!(fw.clear(), Ok(true));
        let cmds = &fw.runner.commands;
        assert_eq!(cmds[0], "nft list tables");
        assert!(cmds[1].starts_with("nft -f - <<add table inet slipstream"));
        assert!(cmds[2].contains("timeout 60s"));
        assert_eq!(cmds[3], "nft list tables");
        assert_eq!(cmds[4], "nft -f - <<delete table inet slipstream\n");
        assert_eq!(cmds.len(), 5);
    }

    #[test]
    fn iptables_commands() {
        let mut fw = Iptables::new(FakeRunner::default());
        assert!(!fw.expires_blocks());
        fw.setup().unwrap();
        let setup: Vec<&str> = fw.runner.commands.iter().map(String::as_str).collect();
        assert_eq!(
            setup,
            [
                "iptables -w -S",
                "iptables -w -N slipstreamBlocking",
                "iptables -w -I INPUT 1 -j slipstreamBlocking",
                "iptables -w -I FORWARD 1 -j slipstreamBlocking",
                "iptables -w -I OUTPUT 1 -j slipstreamBlocking",
                "ip6tables -w -S",
                "ip6tables -w -N slipstreamBlocking",
                "ip6tables -w -I INPUT 1 -j slipstreamBlocking",
                "ip6tables -w -I FORWARD 1 -j slipstreamBlocking",
                "ip6tables -w -I OUTPUT 1 -j slipstreamBlocking",
            ]
        );
        fw.runner.commands.clear();
        fw.block(ip("10.1.0.2"), Some(Duration::from_secs(5)))
            .unwrap();
        // Renewing a block adds no second copy.
        fw.block(ip("10.1.0.2"), None).unwrap();
        fw.block(ip("2001:db8::7"), None).unwrap();
        let inserted: Vec<&String> = fw
            .runner
            .commands
            .iter()
            .filter(|c| c.contains(" -I "))
            .collect();
        assert_eq!(
            inserted,
            [
                "iptables -w -I slipstreamBlocking -s 10.1.0.2 -j DROP",
                "iptables -w -I slipstreamBlocking -d 10.1.0.2 -j DROP",
                "ip6tables -w -I slipstreamBlocking -s 2001:db8::7 -j DROP",
                "ip6tables -w -I slipstreamBlocking -d 2001:db8::7 -j DROP",
            ]
        );
        fw.runner.commands.clear();
        fw.unblock(ip("10.1.0.2")).unwrap();
        fw.unblock(ip("10.1.0.9")).unwrap();
        let deleted: Vec<&String> = fw
            .runner
            .commands
            .iter()
            .filter(|c| c.contains(" -D "))
            .collect();
        assert_eq!(
            deleted,
            [
                "iptables -w -D slipstreamBlocking -s 10.1.0.2 -j DROP",
                "iptables -w -D slipstreamBlocking -d 10.1.0.2 -j DROP",
            ]
        );
    }

    #[test]
    fn iptables_clear_removes_our_chain_and_jumps_only() {
        let mut fw = Iptables::new(FakeRunner::default());
        fw.runner.missing.insert("ip6tables");
        assert_eq!(fw.clear(), Ok(false));
        fw.setup().unwrap();
        fw.block(ip("10.1.0.2"), None).unwrap();
        fw.runner.commands.clear();
        assert_eq!(fw.clear(), Ok(true));
        let cmds: Vec<&str> = fw.runner.commands.iter().map(String::as_str).collect();
        assert_eq!(
            cmds,
            [
                "iptables -w -S",
                "iptables -w -D INPUT -j slipstreamBlocking",
                "iptables -w -D INPUT -j slipstreamBlocking",
                "iptables -w -D FORWARD -j slipstreamBlocking",
                "iptables -w -D FORWARD -j slipstreamBlocking",
                "iptables -w -D OUTPUT -j slipstreamBlocking",
                "iptables -w -D OUTPUT -j slipstreamBlocking",
                "iptables -w -F slipstreamBlocking",
                "iptables -w -X slipstreamBlocking",
            ]
        );
        assert!(fw.runner.rules.is_empty(), "{:?}", fw.runner.rules);
        assert!(fw.runner.chains.is_empty());
    }

    #[test]
    fn iptables_setup_needs_iptables() {
        let mut fw = Iptables::new(FakeRunner::default());
        fw.runner.missing.insert("iptables");
        assert!(fw.setup().unwrap_err().0.contains("not installed"));
    }
}
