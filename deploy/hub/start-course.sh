#!/bin/bash
# Docker Stacks start hook: copy the course into the student's home, never over their work.
# SMTPKIT_LANG=de picks the German edition (notebooks/de of the release) when it is there.
src="${SMTPKIT_COURSE:-/opt/smtp-course}/notebooks"
if [ "${SMTPKIT_LANG:-en}" != "en" ] && [ -d "$src/${SMTPKIT_LANG}" ]; then
  src="$src/${SMTPKIT_LANG}"
fi
dest="${HOME:-/home/jovyan}/smtp-course"
if [ ! -L "$dest" ]; then
  mkdir -p "$dest"
  for nb in "$src"/*.ipynb; do
    [ -e "$dest/$(basename "$nb")" ] || [ -L "$dest/$(basename "$nb")" ] || cp "$nb" "$dest/"
  done
fi
