//! The newest semver release of a repository (e.g. the version of `dagger/dagger-for-github` a
//! generated workflow pins), with drafts and pre-releases skipped and an offline fallback.

use serde::{Deserialize, Serialize};

use super::GitHubError;
use super::client::GitHub;
use super::context::Repository;

/// Lists are read at most this many pages deep (100 releases a page): the newest versions are
/// on the first page, and a repository with thousands of releases should not cost a minute.
const MAX_RELEASES: usize = 300;

#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// Where a [`ReleaseVersion`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    Api,
    Fallback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseVersion {
    /// The tag as published, e.g. `v8.2.0`.
    pub tag: String,
    #[serde(serialize_with = "serialize_version")]
    pub version: semver::Version,
    pub source: VersionSource,
}

fn serialize_version<S: serde::Serializer>(
    version: &semver::Version,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&version.to_string())
}

/// The semver a tag names: `v1.2.3`, `1.2.3`, or `prefix/v1.2.3`.
pub fn tag_version(tag: &str) -> Option<semver::Version> {
    let last = tag.rsplit('/').next().unwrap_or(tag);
    let bare = last.strip_prefix('v').unwrap_or(last);
    semver::Version::parse(bare).ok()
}

/// The newest stable release among `releases`: drafts, releases marked pre-release and tags
/// with a semver pre-release part are skipped; ordering is semver's, not the strings'.
pub fn newest_stable(releases: &[Release]) -> Option<(String, semver::Version)> {
    releases
        .iter()
        .filter(|release| !release.draft && !release.prerelease)
        .filter_map(|release| {
            tag_version(&release.tag_name)
                .filter(|version| version.pre.is_empty())
                .map(|version| (release.tag_name.clone(), version))
        })
        .max_by(|left, right| left.1.cmp(&right.1))
}

/// The newest stable release from the API.
pub async fn latest_release(
    client: &GitHub,
    repository: &Repository,
) -> Result<Option<ReleaseVersion>, GitHubError> {
    let mut releases: Vec<Release> = Vec::new();
    for page in 1..=MAX_RELEASES.div_ceil(100) {
        let batch: Vec<Release> = client
            .get(&format!(
                "{}/releases?per_page=100&page={page}",
                repository.route()
            ))
            .await?;
        let last_page = batch.len() < 100;
        releases.extend(batch);
        if last_page {
            break;
        }
    }
    Ok(
        newest_stable(&releases).map(|(tag, version)| ReleaseVersion {
            tag,
            version,
            source: VersionSource::Api,
        }),
    )
}

/// The newest stable release, or `fallback_tag` (with a warning) when the API fails or the
/// repository has no stable release. The fallback is what this agentci version was tested with.
pub async fn latest_release_or(
    client: &GitHub,
    repository: &Repository,
    fallback_tag: &str,
) -> Result<ReleaseVersion, GitHubError> {
    let fallback = || {
        tag_version(fallback_tag)
            .map(|version| ReleaseVersion {
                tag: fallback_tag.to_owned(),
                version,
                source: VersionSource::Fallback,
            })
            .ok_or_else(|| {
                GitHubError::Context(format!(
                    "the fallback release `{fallback_tag}` is not a semver tag"
                ))
            })
    };
    match latest_release(client, repository).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => {
            tracing::warn!("`{repository}` has no stable semver release; using `{fallback_tag}`");
            fallback()
        }
        Err(error) => {
            tracing::warn!(
                "could not read the releases of `{repository}` ({error}); using `{fallback_tag}`"
            );
            fallback()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(tag: &str, draft: bool, prerelease: bool) -> Release {
        Release {
            tag_name: tag.into(),
            draft,
            prerelease,
            html_url: None,
        }
    }

    #[test]
    fn semver_order_beats_string_order_and_skips_unstable() {
        let releases = [
            release("v1.9.0", false, false),
            release("v1.10.0", false, false),
            release("v2.0.0", true, false),
            release("v1.11.0", false, true),
            release("v1.12.0-rc.1", false, false),
            release("nightly", false, false),
        ];
        let (tag, version) = newest_stable(&releases).unwrap();
        assert_eq!(tag, "v1.10.0");
        assert_eq!(version, semver::Version::new(1, 10, 0));
        assert!(newest_stable(&[release("v1.0.0", true, false)]).is_none());
    }

    #[test]
    fn tags_with_prefixes_parse() {
        assert_eq!(tag_version("v8.2.0"), Some(semver::Version::new(8, 2, 0)));
        assert_eq!(tag_version("8.2.0"), Some(semver::Version::new(8, 2, 0)));
        assert_eq!(
            tag_version("mod/v0.3.1"),
            Some(semver::Version::new(0, 3, 1))
        );
        assert_eq!(tag_version("v8"), None);
    }
}
