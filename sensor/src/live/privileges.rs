//! Giving up root after the interface is open: `otwitness capture --user NAME [--group NAME]`.
//!
//! The capture thread calls [`drop_to`] once the interface is open and the keys are read,
//! before any other thread starts: supplementary groups are cleared, then the group and the
//! user are set (real, effective and saved ids alike, so root cannot be taken back, which is
//! checked), and the process keeps no capability (Linux clears them when a root process sets
//! non-zero ids). The open capture socket keeps working. Before that, the evidence folder is
//! created if missing (and then handed to the user); after it, every folder of the evidence
//! that already exists must be writable by the new user, or the capture refuses to start with
//! an error naming the folder.
//!
//! Not done here: choosing what to open before the drop (the caller's order), and Linux
//! capabilities for a process that starts unprivileged (systemd's `AmbientCapabilities=`
//! does that; see `sensor/dist/otwitness.service`). Files a root run left in the evidence folder
//! are not handed over; the error says which folder to `chown`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use nix::unistd::{self, AccessFlags, Gid, Group, Uid, User};

/// Who the capture runs as after [`drop_to`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub uid: u32,
    pub group: String,
    pub gid: u32,
}

/// Looks `user` (and `group`, else the user's own group) up in the system's databases.
///
/// # Errors
///
/// Either name is unknown, or the databases cannot be read.
pub fn resolve(user: &str, group: Option<&str>) -> Result<Identity> {
    let found = User::from_name(user)
        .with_context(|| format!("looking up user {user:?}"))?
        .ok_or_else(|| anyhow!("--user {user:?}: no such user on this system"))?;
    let (group_name, gid) = match group {
        Some(name) => {
            let found = Group::from_name(name)
                .with_context(|| format!("looking up group {name:?}"))?
                .ok_or_else(|| anyhow!("--group {name:?}: no such group on this system"))?;
            (found.name, found.gid)
        }
        None => {
            let name = Group::from_gid(found.gid)
                .ok()
                .flatten()
                .map_or_else(|| found.gid.to_string(), |g| g.name);
            (name, found.gid)
        }
    };
    Ok(Identity {
        user: found.name,
        uid: found.uid.as_raw(),
        group: group_name,
        gid: gid.as_raw(),
    })
}

/// Becomes `who` for good, with the evidence folder `out` writable by it.
///
/// # Errors
///
/// The process may not change its ids (it is not root and not already `who`), root could be
/// regained afterwards, or a folder of the evidence is not writable by `who`.
pub fn drop_to(who: &Identity, out: &Path) -> Result<()> {
    let (uid, gid) = (Uid::from_raw(who.uid), Gid::from_raw(who.gid));

    if !out.exists() {
        std::fs::create_dir_all(out)
            .with_context(|| format!("creating the evidence folder {}", out.display()))?;
        unistd::chown(out, Some(uid), Some(gid))
            .with_context(|| format!("handing {} to {}", out.display(), who.user))?;
    }

    if unistd::geteuid() == uid && unistd::getegid() == gid && !uid.is_root() {
        log::info!(
            "already running as {} ({}), group {} ({}); nothing to drop",
            who.user,
            who.uid,
            who.group,
            who.gid
        );
        return check_writable(who, out);
    }
    unistd::setgroups(&[]).context("clearing the supplementary groups (needs root)")?;
    unistd::setgid(gid).with_context(|| format!("switching to group {}", who.group))?;
    unistd::setuid(uid).with_context(|| format!("switching to user {}", who.user))?;

    if !uid.is_root() && (unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::geteuid().is_root()) {
        bail!(
            "root could be regained after switching to {}; refusing to run",
            who.user
        );
    }
    check_writable(who, out)?;
    log::info!(
        "privileges dropped: running as user {} ({}), group {} ({}), no supplementary group, no \
         capability; regaining root was refused",
        who.user,
        who.uid,
        who.group,
        who.gid,
    );
    Ok(())
}

/// Every existing folder of the evidence (three levels deep: tables, partitions, spools) must
/// be writable by the process as it now is.
fn check_writable(who: &Identity, out: &Path) -> Result<()> {
    for folder in folders(out) {
        if let Err(error) = unistd::access(&folder, AccessFlags::W_OK | AccessFlags::X_OK) {
            bail!(
                "evidence folder {} is not writable by user {} ({error}); give it to that user \
                 (chown -R {}:{} {}) or choose another --out",
                folder.display(),
                who.user,
                who.user,
                who.group,
                out.display(),
            );
        }
    }
    Ok(())
}

fn folders(out: &Path) -> Vec<PathBuf> {
    let mut found = vec![out.to_path_buf()];
    let mut next = 0;
    while next < found.len() {
        let folder = found[next].clone();
        next += 1;
        let depth = folder
            .strip_prefix(out)
            .map_or(0, |rel| rel.components().count());
        if depth >= 3 {
            continue;
        }
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(entry.path());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_root_and_refuses_unknown_names() {
        let root = resolve("root", None).ok();
        assert_eq!(root.as_ref().map(|r| (r.uid, r.gid)), Some((0, 0)));

        let error = resolve("no-such-user-otw", None)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("--user \"no-such-user-otw\": no such user on this system")
        );
        let error = resolve("root", Some("no-such-group-otw")).err();
        assert!(error.is_some());
    }

    #[test]
    fn lists_folders_three_levels_deep() {
        let out = std::env::temp_dir().join(format!("otw-priv-{}", std::process::id()));
        let deep = out.join("spool/writes/date=2026-12-03/too-deep");
        let _ = std::fs::create_dir_all(&deep);

        let found = folders(&out);
        let _ = std::fs::remove_dir_all(&out);

        assert!(found.contains(&out.join("spool/writes/date=2026-12-03")));
        assert!(!found.contains(&deep));
        assert_eq!(found.len(), 4);
    }
}
