#!/bin/sh
# Install this Chainwright folder for the current user: the `chainwright` command in ~/.local/bin
# and the menu entry, icons and AppStream metadata in ~/.local/share. Run it from the unpacked
# folder (./install.sh); run ./install.sh --remove to take them out again. The folder stays where
# it is: move it first (for example to ~/.local/opt/Chainwright) if you want it elsewhere.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
BIN=$HOME/.local/bin
APP_ID=io.github.chainwright.Chainwright

if [ "${1:-}" = "--remove" ]; then
    rm -f "$BIN/chainwright" "$DATA/applications/chainwright.desktop" "$DATA/metainfo/$APP_ID.metainfo.xml"
    find "$DATA/icons/hicolor" -name 'chainwright.*' -delete 2>/dev/null || true
    echo "Chainwright's menu entry and command were removed (this folder was left as it is)."
    exit 0
fi

mkdir -p "$BIN" "$DATA/applications" "$DATA/metainfo" "$DATA/icons"
ln -sf "$HERE/chainwright" "$BIN/chainwright"
cp -R "$HERE/share/icons/." "$DATA/icons/"
sed -e "s|^Exec=chainwright|Exec=\"$HERE/chainwright\"|" -e "s|^TryExec=chainwright|TryExec=$HERE/chainwright|" \
    "$HERE/share/applications/chainwright.desktop" > "$DATA/applications/chainwright.desktop"
cp "$HERE/share/metainfo/$APP_ID.metainfo.xml" "$DATA/metainfo/"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "Chainwright is in your applications menu, and 'chainwright' runs it from a terminal"
echo "(if the command is not found, add ~/.local/bin to your PATH)."
