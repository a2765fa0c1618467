#!/bin/sh
git log --oneline -20
