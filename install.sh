#!/bin/sh
# Install agentci from a GitHub release: pick the archive for this platform, download it and its
# `.sha256`, verify the checksum, and only then extract and install the binary.
#
#   curl -fsSL https://raw.githubusercontent.com/agentci/agentci/main/install.sh | sh
#
# Environment:
#   AGENTCI_VERSION       version to install, e.g. `0.1.0` or `v0.1.0` [default: the latest release]
#   AGENTCI_INSTALL_DIR   where to put `agentci` [default: `$HOME/.local/bin`]
#   AGENTCI_DOWNLOAD_URL  base URL replacing `https://github.com/<repository>/releases/download`;
#                         files are read from `<base>/v<version>/` (`<base>/latest/` without a version)
#
# Exits non-zero, installing nothing, when the platform is not supported, an asset is missing or
# the checksum does not match. POSIX sh: no bashisms.
set -eu

# The repository the releases come from; kept equal to Cargo.toml's `repository` by a test.
AGENTCI_REPOSITORY="agentci/agentci"

say() {
    printf 'agentci-install: %s\n' "$*" >&2
}

fail() {
    printf 'agentci-install: error: %s\n' "$*" >&2
    exit 1
}

need() {
    command -v "$1" >/dev/null 2>&1 || fail "this installer needs \`$1\`, which is not installed"
}

# The Rust target triple of the release archive for this machine.
detect_target() {
    os="$(uname -s)"
    arch="$(uname -m)"
    case "$arch" in
        x86_64 | amd64) arch="x86_64" ;;
        aarch64 | arm64) arch="aarch64" ;;
        *) fail "unsupported CPU architecture \`$arch\` (releases exist for x86_64 and aarch64)" ;;
    esac
    case "$os" in
        Linux) echo "$arch-unknown-linux-musl" ;;
        Darwin)
            # An x86_64 shell under Rosetta on Apple silicon: the native build is the better fit.
            if [ "$arch" = "x86_64" ] && [ "$(sysctl -n hw.optional.arm64 2>/dev/null || echo 0)" = "1" ]; then
                arch="aarch64"
            fi
            echo "$arch-apple-darwin"
            ;;
        MINGW* | MSYS* | CYGWIN* | Windows_NT)
            fail "on Windows, download \`agentci-x86_64-pc-windows-msvc.zip\` from https://github.com/$AGENTCI_REPOSITORY/releases"
            ;;
        *) fail "unsupported operating system \`$os\` (releases exist for Linux, macOS and Windows)" ;;
    esac
}

# download URL FILE: fails (returns non-zero) on an HTTP error.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget --quiet --tries=3 --output-document="$2" "$1"
    else
        fail "this installer needs \`curl\` or \`wget\`"
    fi
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
    else
        fail "this installer needs \`sha256sum\`, \`shasum\` or \`openssl\` to verify the download"
    fi
}

main() {
    need uname
    need tar
    need mktemp

    target="$(detect_target)"
    archive="agentci-$target.tar.gz"

    version="${AGENTCI_VERSION:-}"
    version="${version#v}"
    base="${AGENTCI_DOWNLOAD_URL:-}"
    base="${base%/}"
    if [ -n "$version" ]; then
        directory="${base:-https://github.com/$AGENTCI_REPOSITORY/releases/download}/v$version"
        label="v$version"
    elif [ -n "$base" ]; then
        directory="$base/latest"
        label="the latest release"
    else
        directory="https://github.com/$AGENTCI_REPOSITORY/releases/latest/download"
        label="the latest release"
    fi

    install_dir="${AGENTCI_INSTALL_DIR:-${HOME:?set HOME or AGENTCI_INSTALL_DIR}/.local/bin}"

    scratch="$(mktemp -d 2>/dev/null || mktemp -d -t agentci-install)"
    trap 'rm -rf "$scratch"' EXIT
    trap 'exit 1' HUP INT TERM

    say "downloading agentci $label for \`$target\` from \`$directory\`"
    download "$directory/$archive" "$scratch/$archive" \
        || fail "cannot download \`$directory/$archive\`: no agentci $label for \`$target\`? (see https://github.com/$AGENTCI_REPOSITORY/releases)"
    download "$directory/$archive.sha256" "$scratch/$archive.sha256" \
        || fail "cannot download the checksum \`$directory/$archive.sha256\`; refusing to install an unverified archive"

    expected="$(cut -d ' ' -f 1 <"$scratch/$archive.sha256" | tr -d '\r' | tr 'A-F' 'a-f')"
    case "$expected" in
        "" | *[!0-9a-f]*) fail "\`$archive.sha256\` does not hold a SHA-256 checksum" ;;
    esac
    [ "${#expected}" -eq 64 ] || fail "\`$archive.sha256\` does not hold a SHA-256 checksum"
    actual="$(sha256_of "$scratch/$archive")"
    if [ "$actual" != "$expected" ]; then
        fail "checksum mismatch for \`$archive\`: expected $expected, got $actual; nothing was installed"
    fi

    mkdir "$scratch/unpacked"
    tar -xzf "$scratch/$archive" -C "$scratch/unpacked" \
        || fail "cannot extract \`$archive\`; nothing was installed"
    [ -f "$scratch/unpacked/agentci" ] || fail "\`$archive\` holds no \`agentci\` binary; nothing was installed"

    mkdir -p "$install_dir" || fail "cannot create the install directory \`$install_dir\`"
    # Copy next to the destination, then rename: a running agentci is never half-overwritten.
    cp "$scratch/unpacked/agentci" "$install_dir/.agentci.partial.$$" \
        || fail "cannot write into \`$install_dir\`"
    chmod 755 "$install_dir/.agentci.partial.$$"
    mv -f "$install_dir/.agentci.partial.$$" "$install_dir/agentci" \
        || { rm -f "$install_dir/.agentci.partial.$$"; fail "cannot install into \`$install_dir\`"; }

    say "installed \`$install_dir/agentci\` ($label, $target)"
    case ":${PATH:-}:" in
        *":$install_dir:"*) ;;
        *) say "\`$install_dir\` is not on your PATH; add it, e.g. export PATH=\"$install_dir:\$PATH\"" ;;
    esac
}

main "$@"
