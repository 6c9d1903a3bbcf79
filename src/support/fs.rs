//! Files and trees: an atomic write that gives new files the mode any tool would
//! (`0666 & ~umask`) and keeps an edited file's mode, and the one tree copy.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

/// Write `content` to `destination` through a temporary file in the same directory and a
/// rename, so a crash never leaves a half-written file. A new file gets `0666 & ~umask` (0644
/// under the usual umask 022), like a file any editor creates; a file that existed keeps its
/// mode. Missing parent directories are created. A symlink at `destination` is replaced by the
/// file, never written through; a hard link's other names keep the old content.
pub fn write_atomically(destination: &Path, content: &[u8]) -> anyhow::Result<()> {
    stage(destination, content)?.commit()
}

/// Write several files so that a failure while writing any of them leaves every old file in
/// place: each is staged next to its destination first, then all are renamed. Should a rename
/// fail after others succeeded, the error is marked [`crate::exit::AfterChanges`] with the files
/// already replaced.
pub fn write_files_atomically(files: &[(&Path, &[u8])]) -> anyhow::Result<()> {
    let staged = files
        .iter()
        .map(|(destination, content)| stage(destination, content))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut replaced = Vec::with_capacity(staged.len());
    for file in staged {
        let destination = file.destination;
        file.commit()
            .map_err(|error| crate::exit::after_changes(error, &replaced))?;
        replaced.push(destination.display());
    }
    Ok(())
}

/// A file written next to its destination, not yet renamed over it.
struct Staged<'a> {
    temporary: tempfile::NamedTempFile,
    destination: &'a Path,
}

impl Staged<'_> {
    fn commit(self) -> anyhow::Result<()> {
        self.temporary
            .persist(self.destination)
            .map_err(|error| error.error)
            .with_context(|| format!("failed to replace `{}`", self.destination.display()))?;
        Ok(())
    }
}

fn stage<'a>(destination: &'a Path, content: &[u8]) -> anyhow::Result<Staged<'a>> {
    let parent = destination
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("failed to create `{}`", parent.display()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".agentci-");
    #[cfg(unix)]
    let new_file_mode = {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::Permissions::from_mode(0o666)
    };
    #[cfg(unix)]
    builder.permissions(new_file_mode);
    let mut temporary = builder
        .tempfile_in(parent)
        .with_context(|| format!("failed to create a file in `{}`", parent.display()))?;
    temporary
        .write_all(content)
        .and_then(|()| temporary.as_file().sync_all())
        .with_context(|| format!("failed to write `{}`", destination.display()))?;
    // `symlink_metadata`: the mode of a link's target is not the link's to keep.
    if let Ok(metadata) = std::fs::symlink_metadata(destination)
        && metadata.is_file()
    {
        std::fs::set_permissions(temporary.path(), metadata.permissions()).with_context(|| {
            format!(
                "failed to keep the permissions of `{}`",
                destination.display()
            )
        })?;
    }
    Ok(Staged {
        temporary,
        destination,
    })
}

/// Copy the tree at `from` into `to` (created when missing), leaving out every directory or file
/// whose name is in `skip`, at any depth. Symlinks are never followed: each is recreated as a
/// symlink with the same target, so nothing outside `from` is ever read or copied. Anything
/// that is neither a file, a directory nor a symlink (sockets, fifos) is left out.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> anyhow::Result<()> {
    let walker = walkdir::WalkDir::new(from)
        .follow_links(false)
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !skip.iter().any(|name| entry.file_name() == *name)
        });
    for entry in walker {
        let entry = entry.with_context(|| format!("failed to read `{}`", from.display()))?;
        let relative = entry.path().strip_prefix(from)?;
        let destination = to.join(relative);
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&destination)
                .with_context(|| format!("failed to create `{}`", destination.display()))?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path())
                .with_context(|| format!("failed to read `{}`", entry.path().display()))?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &destination)
                .with_context(|| format!("failed to link `{}`", destination.display()))?;
            #[cfg(not(unix))]
            let _ = target;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &destination)
                .with_context(|| format!("failed to copy `{}`", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_of_files_is_staged_whole_and_a_late_failure_names_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.txt");
        std::fs::write(&first, "old").unwrap();
        // A destination that cannot be staged (its parent is a file): nothing is replaced.
        let unstageable = dir.path().join("first.txt/inner");
        let error = write_files_atomically(&[(&first, b"new"), (&unstageable, b"x")]).unwrap_err();
        assert!(!crate::exit::changed_files(&error), "{error:#}");
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "old");
        // A destination that stages but cannot be replaced (a non-empty directory): the file
        // replaced before it is named, and the error no longer claims that nothing changed.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("keep"), "").unwrap();
        let error = write_files_atomically(&[(&first, b"new"), (&blocked, b"x")]).unwrap_err();
        assert!(crate::exit::changed_files(&error), "{error:#}");
        assert!(format!("{error:#}").contains("first.txt"), "{error:#}");
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "new");
    }

    #[cfg(unix)]
    #[test]
    fn new_files_follow_the_umask_and_edited_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        // What the process's umask gives a file created the ordinary way.
        let probe = dir.path().join("probe");
        std::fs::write(&probe, "").unwrap();
        let ordinary = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        let new = dir.path().join("a/b/new.txt");
        write_atomically(&new, b"hello").unwrap();
        assert_eq!(std::fs::read(&new).unwrap(), b"hello");
        assert_eq!(
            std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            ordinary
        );
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "old").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o750)).unwrap();
        write_atomically(&script, b"new").unwrap();
        assert_eq!(
            std::fs::metadata(&script).unwrap().permissions().mode() & 0o777,
            0o750
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_tree_copy_recreates_symlinks_without_following_them() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let from = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(from.path().join("src/node_modules")).unwrap();
        std::fs::write(from.path().join("src/app.py"), "x").unwrap();
        std::fs::write(from.path().join("src/node_modules/m.js"), "m").unwrap();
        std::os::unix::fs::symlink(outside.path(), from.path().join("out")).unwrap();
        std::os::unix::fs::symlink("src/app.py", from.path().join("in")).unwrap();
        let to = tempfile::tempdir().unwrap();
        copy_tree(from.path(), to.path(), &["node_modules"]).unwrap();
        assert_eq!(
            std::fs::read_to_string(to.path().join("src/app.py")).unwrap(),
            "x"
        );
        assert!(!to.path().join("src/node_modules").exists());
        let out = to.path().join("out");
        assert!(out.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_link(&out).unwrap(), outside.path());
        assert_eq!(
            std::fs::read_link(to.path().join("in")).unwrap(),
            Path::new("src/app.py")
        );
    }
}
