#!/bin/sh
exec git diff --cached --stat
