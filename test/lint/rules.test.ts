/**
 * Every rule has a failing and a passing fixture: the failing one must produce the rule's code, the passing one
 * must not. Fixtures cover heredocs, escape=`, ONBUILD and multi-stage files where the rule reads them.
 */
import { describe, expect, it } from 'vitest';
import { RULES } from '../../compiler/lint/index.ts';
import { codes, lintText } from './helpers.ts';
import type { LintOptions } from '../../compiler/lint/index.ts';

type Case = { code: string; bad: string; good: string; options?: LintOptions };

const cases: Case[] = [
  // BuildKit
  { code: 'StageNameCasing', bad: 'FROM alpine:3 AS Build\n', good: 'FROM alpine:3 AS build\n' },
  { code: 'FromAsCasing', bad: 'FROM alpine:3 as build\n', good: 'from alpine:3 as build\n' },
  { code: 'NoEmptyContinuation', bad: 'FROM alpine:3\nRUN echo a \\\n\n  b\n', good: 'FROM alpine:3\nRUN echo a \\\n  b\n' },
  { code: 'ConsistentInstructionCasing', bad: 'FROM alpine:3\nrun echo\nRUN echo\n', good: 'from alpine:3\nrun echo\n' },
  { code: 'DuplicateStageName', bad: 'FROM alpine:3 AS a\nFROM alpine:3 AS a\n', good: 'FROM alpine:3 AS a\nFROM alpine:3 AS b\n' },
  { code: 'ReservedStageName', bad: 'FROM alpine:3 AS scratch\n', good: 'FROM alpine:3 AS base\n' },
  { code: 'JSONArgsRecommended', bad: 'FROM alpine:3\nCMD echo hi\n', good: 'FROM alpine:3\nCMD ["echo", "hi"]\n' },
  { code: 'MaintainerDeprecated', bad: 'FROM alpine:3\nMAINTAINER me\n', good: 'FROM alpine:3\nLABEL org.opencontainers.image.authors=me\n' },
  { code: 'UndefinedArgInFrom', bad: 'FROM alpine:${VERSON}\n', good: 'ARG VERSION=3\nFROM alpine:${VERSION}\n' },
  { code: 'WorkdirRelativePath', bad: 'FROM alpine:3\nWORKDIR app\n', good: 'FROM alpine:3\nWORKDIR /srv\nWORKDIR app\n' },
  { code: 'UndefinedVar', bad: 'FROM scratch\nENV FOO=1\nCOPY $FOOO /x\n', good: 'FROM scratch\nENV FOO=1\nCOPY $FOO /x\n' },
  { code: 'MultipleInstructionsDisallowed', bad: 'FROM alpine:3\nCMD ["a"]\nCMD ["b"]\n', good: 'FROM alpine:3 AS a\nCMD ["a"]\nFROM alpine:3\nCMD ["b"]\n' },
  { code: 'LegacyKeyValueFormat', bad: 'FROM alpine:3\nENV A b\n', good: 'FROM alpine:3\nENV A=b\n' },
  { code: 'InvalidBaseImagePlatform', bad: 'FROM alpine:3\n', good: 'FROM alpine:3\n', options: { targetPlatform: 'linux/arm64', baseImagePlatform: () => 'linux/amd64' } },
  { code: 'RedundantTargetPlatform', bad: 'FROM --platform=$TARGETPLATFORM alpine:3\n', good: 'FROM --platform=$BUILDPLATFORM alpine:3\n' },
  { code: 'SecretsUsedInArgOrEnv', bad: 'FROM alpine:3\nARG GITHUB_TOKEN\n', good: 'FROM alpine:3\nARG PUBLIC_KEY\nARG VERSION\n' },
  { code: 'InvalidDefaultArgInFrom', bad: 'ARG TAG\nFROM alpine:${TAG}\n', good: 'ARG TAG=3\nFROM alpine:${TAG}\n' },
  { code: 'FromPlatformFlagConstDisallowed', bad: 'FROM --platform=linux/amd64 alpine:3\n', good: 'FROM --platform=linux/amd64 alpine:3 AS build-amd64\n' },
  { code: 'CopyIgnoredFile', bad: 'FROM alpine:3\nCOPY secret.txt /x\n', good: 'FROM alpine:3\nCOPY app.txt /x\n', options: { experimental: true, isIgnored: (p) => p === 'secret.txt' } },
  { code: 'InvalidDefinitionDescription', bad: '# the version\nARG VERSION=1\nFROM alpine:3\n', good: '# VERSION the version\nARG VERSION=1\nFROM alpine:3\n', options: { experimental: true } },
  { code: 'ExposeProtoCasing', bad: 'FROM alpine:3\nEXPOSE 80/TCP\n', good: 'FROM alpine:3\nEXPOSE 80/tcp\n' },
  { code: 'ExposeInvalidFormat', bad: 'FROM alpine:3\nEXPOSE 127.0.0.1:80:80\n', good: 'FROM alpine:3\nEXPOSE 80\n' },
  // hadolint: instructions
  { code: 'DL3000', bad: 'FROM alpine:3\nWORKDIR app\n', good: 'FROM alpine:3\nWORKDIR /app\n' },
  { code: 'DL3002', bad: 'FROM alpine:3\nUSER root\n', good: 'FROM alpine:3 AS b\nUSER root\nFROM alpine:3\nUSER app\n' },
  { code: 'DL3006', bad: 'FROM alpine\n', good: 'ARG V=3\nFROM alpine:${V}\nFROM alpine:3 AS x\nFROM x\n' },
  { code: 'DL3007', bad: 'ARG TAG=latest\nFROM alpine:${TAG}\n', good: 'FROM alpine:3.20\n' },
  { code: 'DL3011', bad: 'FROM alpine:3\nEXPOSE 70000\n', good: 'FROM alpine:3\nEXPOSE 8080\n' },
  { code: 'DL3012', bad: 'FROM alpine:3\nHEALTHCHECK NONE\nHEALTHCHECK NONE\n', good: 'FROM alpine:3\nHEALTHCHECK NONE\n' },
  { code: 'DL3020', bad: 'FROM alpine:3\nADD app.py /app/\n', good: 'FROM alpine:3\nADD app.tar.gz /app/\nADD https://x.org/a /a\n' },
  { code: 'DL3021', bad: 'FROM alpine:3\nCOPY a b /dest\n', good: 'FROM alpine:3\nCOPY a b /dest/\n' },
  { code: 'DL3022', bad: 'FROM alpine:3\nCOPY --from=builder /a /a\n', good: 'FROM alpine:3 AS builder\nFROM alpine:3\nCOPY --from=builder /a /a\nCOPY --from=nginx:1 /b /b\n' },
  { code: 'DL3023', bad: 'FROM alpine:3 AS a\nCOPY --from=a /x /x\n', good: 'FROM alpine:3 AS a\nFROM alpine:3 AS b\nCOPY --from=a /x /x\n' },
  { code: 'DL3024', bad: 'FROM alpine:3 AS a\nFROM alpine:3 AS a\n', good: 'FROM alpine:3 AS a\n' },
  { code: 'DL3025', bad: 'FROM alpine:3\nENTRYPOINT run.sh\n', good: 'FROM alpine:3\nENTRYPOINT ["run.sh"]\n' },
  { code: 'DL3026', bad: 'FROM evil.io/x:1\n', good: 'FROM docker.io/library/alpine:3\nFROM alpine:3\n', options: { trustedRegistries: ['docker.io'] } },
  { code: 'DL3029', bad: 'FROM --platform=linux/amd64 alpine:3\n', good: 'FROM --platform=$BUILDPLATFORM alpine:3\n' },
  { code: 'DL3043', bad: 'FROM alpine:3\nONBUILD MAINTAINER me\n', good: 'FROM alpine:3\nONBUILD RUN echo\n' },
  { code: 'DL3044', bad: 'FROM alpine:3\nENV A=1 B=$A\n', good: 'FROM alpine:3\nENV A=1\nENV B=$A\n' },
  { code: 'DL3045', bad: 'FROM alpine:3\nCOPY a.txt dest/\n', good: 'FROM alpine:3\nWORKDIR /app\nCOPY a.txt dest/\n' },
  { code: 'DL3048', bad: 'FROM alpine:3\nLABEL Bad_Key=x\n', good: 'FROM alpine:3\nLABEL org.example.key=x\n' },
  { code: 'DL3049', bad: 'FROM alpine:3\n', good: 'FROM alpine:3\nLABEL maintainer=me\n', options: { labelSchema: new Map([['maintainer', 'text']]) } },
  { code: 'DL3050', bad: 'FROM alpine:3\nLABEL maintainer=me extra=1\n', good: 'FROM alpine:3\nLABEL maintainer=me\n', options: { labelSchema: new Map([['maintainer', 'text']]), strictLabels: true } },
  { code: 'DL3051', bad: 'FROM alpine:3\nLABEL maintainer=""\n', good: 'FROM alpine:3\nLABEL maintainer=me\n', options: { labelSchema: new Map([['maintainer', 'text']]) } },
  { code: 'DL3052', bad: 'FROM alpine:3\nLABEL home=not-a-url\n', good: 'FROM alpine:3\nLABEL home=https://x.org/\n', options: { labelSchema: new Map([['home', 'url']]) } },
  { code: 'DL3053', bad: 'FROM alpine:3\nLABEL built=yesterday\n', good: 'FROM alpine:3\nLABEL built=2024-01-02T03:04:05Z\n', options: { labelSchema: new Map([['built', 'rfc3339']]) } },
  { code: 'DL3054', bad: 'FROM alpine:3\nLABEL lic=Whatever\n', good: 'FROM alpine:3\nLABEL lic=Apache-2.0\n', options: { labelSchema: new Map([['lic', 'spdx']]) } },
  { code: 'DL3055', bad: 'FROM alpine:3\nLABEL rev=xyz\n', good: 'FROM alpine:3\nLABEL rev=0123abc\n', options: { labelSchema: new Map([['rev', 'hash']]) } },
  { code: 'DL3056', bad: 'FROM alpine:3\nLABEL v=1.2\n', good: 'FROM alpine:3\nLABEL v=1.2.3\n', options: { labelSchema: new Map([['v', 'semver']]) } },
  { code: 'DL3058', bad: 'FROM alpine:3\nLABEL m=me\n', good: 'FROM alpine:3\nLABEL m=me@x.org\n', options: { labelSchema: new Map([['m', 'email']]) } },
  { code: 'DL3057', bad: 'FROM alpine:3\n', good: 'FROM alpine:3\nHEALTHCHECK NONE\n', options: { overrides: new Map([['DL3057', 'info']]) } },
  { code: 'DL3059', bad: 'FROM alpine:3\nRUN echo a\nRUN echo b\n', good: 'FROM alpine:3\nRUN echo a\nENV X=1\nRUN echo b\n' },
  { code: 'DL3061', bad: 'LABEL a=b\nFROM alpine:3\n', good: 'ARG X=1\nFROM alpine:3\n' },
  { code: 'DL4000', bad: 'FROM alpine:3\nMAINTAINER me\n', good: 'FROM alpine:3\n' },
  { code: 'DL4003', bad: 'FROM alpine:3\nCMD ["a"]\nCMD ["b"]\n', good: 'FROM alpine:3\nCMD ["a"]\n' },
  { code: 'DL4004', bad: 'FROM alpine:3\nENTRYPOINT ["a"]\nENTRYPOINT ["b"]\n', good: 'FROM alpine:3\nENTRYPOINT ["a"]\n' },
  // hadolint: RUN (shell parsed)
  { code: 'DL3001', bad: 'FROM alpine:3\nRUN service nginx start\n', good: 'FROM alpine:3\nRUN echo service\n' },
  { code: 'DL3003', bad: 'FROM alpine:3\nRUN cd /tmp && make\n', good: 'FROM alpine:3\nRUN make -C /tmp\nRUN echo cd\n' },
  { code: 'DL3004', bad: 'FROM alpine:3\nRUN sudo make install\n', good: 'FROM alpine:3\nRUN echo sudo\n' },
  { code: 'DL3008', bad: 'FROM debian:12\nRUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n', good: 'FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=7.88 && rm -rf /var/lib/apt/lists/*\n' },
  { code: 'DL3009', bad: 'FROM debian:12\nRUN apt-get install -y x=1\n', good: 'FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get install -y x=1\nRUN apt-get install -y y=1 && rm -rf /var/lib/apt/lists/*\n' },
  { code: 'DL3013', bad: 'FROM python:3\nRUN pip install --no-cache-dir flask\n', good: 'FROM python:3\nRUN pip install --no-cache-dir flask==3.0 && pip install --no-cache-dir -r requirements.txt\n' },
  { code: 'DL3014', bad: 'FROM debian:12\nRUN apt-get install --no-install-recommends x=1\n', good: 'FROM debian:12\nRUN apt-get -qy install --no-install-recommends x=1\n' },
  { code: 'DL3015', bad: 'FROM debian:12\nRUN apt-get install -y x=1\n', good: 'FROM debian:12\nRUN apt-get install -y --no-install-recommends x=1\n' },
  { code: 'DL3016', bad: 'FROM node:20\nRUN npm install -g express\n', good: 'FROM node:20\nRUN npm install -g express@4 @scope/pkg@1 && npm install\n' },
  { code: 'DL3018', bad: 'FROM alpine:3\nRUN apk add --no-cache curl\n', good: 'FROM alpine:3\nRUN apk add --no-cache --virtual .deps curl=8.0\n' },
  { code: 'DL3019', bad: 'FROM alpine:3\nRUN apk add curl=8\n', good: 'FROM alpine:3\nRUN apk add --no-cache curl=8\nRUN --mount=type=cache,target=/var/cache/apk apk add curl=8\n' },
  { code: 'DL3027', bad: 'FROM debian:12\nRUN apt install x\n', good: 'FROM debian:12\nRUN echo apt\n' },
  { code: 'DL3028', bad: 'FROM ruby:3\nRUN gem install rails\n', good: 'FROM ruby:3\nRUN gem install rails:7.1 && gem install -v 1 bundler\n' },
  { code: 'DL3030', bad: 'FROM centos:7\nRUN yum install x-1 && yum clean all\n', good: 'FROM centos:7\nRUN yum install -y x-1 && yum clean all\n' },
  { code: 'DL3032', bad: 'FROM centos:7\nRUN yum install -y x-1\n', good: 'FROM centos:7\nRUN yum install -y x-1 && yum clean all\n' },
  { code: 'DL3033', bad: 'FROM centos:7\nRUN yum install -y x && yum clean all\n', good: 'FROM centos:7\nRUN yum install -y x-1.2 && yum clean all\n' },
  { code: 'DL3034', bad: 'FROM opensuse/leap:15\nRUN zypper install x=1 && zypper clean\n', good: 'FROM opensuse/leap:15\nRUN zypper install -y x=1 && zypper clean\n' },
  { code: 'DL3035', bad: 'FROM opensuse/leap:15\nRUN zypper dist-upgrade -y && zypper clean\n', good: 'FROM opensuse/leap:15\nRUN zypper clean\n' },
  { code: 'DL3036', bad: 'FROM opensuse/leap:15\nRUN zypper install -y x=1\n', good: 'FROM opensuse/leap:15\nRUN zypper install -y x=1 && zypper clean\n' },
  { code: 'DL3037', bad: 'FROM opensuse/leap:15\nRUN zypper install -y x && zypper clean\n', good: 'FROM opensuse/leap:15\nRUN zypper install -y x=1 && zypper clean\n' },
  { code: 'DL3038', bad: 'FROM fedora:40\nRUN dnf install x-1 && dnf clean all\n', good: 'FROM fedora:40\nRUN dnf install -y x-1 && dnf clean all\n' },
  { code: 'DL3040', bad: 'FROM fedora:40\nRUN dnf install -y x-1\n', good: 'FROM fedora:40\nRUN --mount=type=cache,target=/var/cache/dnf dnf install -y x-1\n' },
  { code: 'DL3041', bad: 'FROM fedora:40\nRUN dnf install -y x && dnf clean all\n', good: 'FROM fedora:40\nRUN dnf install -y x-1.0 && dnf clean all\n' },
  { code: 'DL3042', bad: 'FROM python:3\nRUN pip install flask==3\n', good: 'FROM python:3\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask==3\n' },
  { code: 'DL3046', bad: 'FROM debian:12\nRUN useradd -u 1000000 app\n', good: 'FROM debian:12\nRUN useradd -l -u 1000000 app\n' },
  { code: 'DL3047', bad: 'FROM debian:12\nRUN wget https://x.org/a\n', good: 'FROM debian:12\nRUN wget -q https://x.org/a\n' },
  { code: 'DL3060', bad: 'FROM node:20\nRUN yarn install\n', good: 'FROM node:20\nRUN yarn install && yarn cache clean\n' },
  { code: 'DL3062', bad: 'FROM golang:1\nRUN go install example.com/tool@latest\n', good: 'FROM golang:1\nRUN go install example.com/tool@v1.2.3\n' },
  { code: 'DL4001', bad: 'FROM debian:12\nRUN curl -o a https://x && wget -q https://y\n', good: 'FROM debian:12 AS a\nRUN curl -o a https://x\nFROM debian:12\nRUN wget -q https://y\n' },
  { code: 'DL4005', bad: 'FROM debian:12\nRUN ln -sf /bin/bash /bin/sh\n', good: 'FROM debian:12\nSHELL ["/bin/bash", "-c"]\n' },
  { code: 'DL4006', bad: 'FROM debian:12\nRUN curl -s x | sh\n', good: 'FROM debian:12\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl -s x | sh\nFROM debian:12 AS b\nRUN set -o pipefail && curl x | sh\n' },
  // tsbuild
  { code: 'UnusedStage', bad: 'FROM alpine:3\nFROM alpine:3\n', good: 'FROM alpine:3 AS a\nFROM alpine:3\nCOPY --from=a /x /x\n' },
  { code: 'UnusedArg', bad: 'ARG NEVER=1\nFROM alpine:3\n', good: 'ARG V=3\nFROM alpine:${V}\n' },
  { code: 'CopyAllBeforeInstall', bad: 'FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n', good: 'FROM node:20\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n' },
  { code: 'EarlyArg', bad: 'FROM alpine:3\nARG REV\nRUN echo 1\nRUN echo 2\nLABEL rev=$REV\n', good: 'FROM alpine:3\nRUN echo 1\nRUN echo 2\nARG REV\nLABEL rev=$REV\n' },
  { code: 'RemoteAddWithoutChecksum', bad: 'FROM alpine:3\nADD https://x.org/a.tgz /a\n', good: 'FROM alpine:3\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://x.org/a.tgz /a\n' },
  { code: 'NoDockerignore', bad: 'FROM alpine:3\n', good: 'FROM alpine:3\n', options: { context: { hasDockerignore: false, sizeBytes: 50 << 20 } } },
  { code: 'CopyFromMissingPath', bad: 'FROM scratch AS out\nCOPY a /bin/a\nFROM alpine:3\nCOPY --from=out /usr/bin/a /a\n', good: 'FROM scratch AS out\nCOPY a /bin/a\nFROM alpine:3\nCOPY --from=out /bin/a /a\n' },
];

describe('rules', () => {
  it('every rule has a fixture pair (except ShellSyntax and UnusedSuppression, tested on their own)', () => {
    const covered = new Set(cases.map((c) => c.code));
    const missing = RULES.map((r) => r.code).filter((c) => !covered.has(c) && c !== 'ShellSyntax' && c !== 'UnusedSuppression');
    expect(missing).toEqual([]);
  });
  for (const c of cases) {
    it(`${c.code}: fires on the bad fixture, not on the good one`, () => {
      expect(codes(c.bad, c.options)).toContain(c.code);
      // the good fixture for option-driven rules is checked with the options that make the bad one pass
      const goodOpts = c.code === 'InvalidBaseImagePlatform' ? { targetPlatform: 'linux/amd64', baseImagePlatform: () => 'linux/amd64' } : c.code === 'NoDockerignore' ? { context: { hasDockerignore: true, sizeBytes: 50 << 20 } } : c.options;
      expect(codes(c.good, goodOpts)).not.toContain(c.code);
    });
  }
});

describe('rule fixtures in special syntax', () => {
  it('heredoc bodies are analysed as shell, with positions inside the body', () => {
    const f = codes('FROM debian:12\nRUN <<EOF\nset -e\napt-get install -y curl\nEOF\n');
    expect(f).toContain('DL3008');
    expect(f).toContain('DL3015');
  });
  it('a python heredoc is not analysed as shell; `<<EOF bash` is', () => {
    expect(codes('FROM debian:12\nRUN python3 <<EOF\nimport os; os.system("sudo x")\nEOF\n')).not.toContain('DL3004');
    expect(codes('FROM debian:12\nRUN <<EOF bash\nsudo make\nEOF\n')).toContain('DL3004');
    expect(codes('FROM debian:12\nRUN <<EOF\n#!/usr/bin/env python3\nsudo = 1\nEOF\n')).not.toContain('DL3004');
  });
  it('escape=` continuations are followed', () => {
    const src = '# escape=`\nFROM debian:12\nRUN apt-get update && `\n    apt-get install -y curl\n';
    const f = codes(src);
    expect(f).toContain('DL3008');
  });
  it('ONBUILD triggers are linted', () => {
    expect(codes('FROM alpine:3\nONBUILD RUN sudo make\n')).toContain('DL3004');
    expect(codes('FROM alpine:3\nONBUILD ADD app.py /app/\n')).toContain('DL3020');
  });
  it('sh -c scripts and command substitutions are parsed too', () => {
    expect(codes('FROM alpine:3\nRUN sh -c "sudo make"\n')).toContain('DL3004');
    expect(codes('FROM alpine:3\nRUN echo $(sudo id)\n')).toContain('DL3004');
    expect(codes('FROM alpine:3\nRUN ["sh", "-c", "sudo make"]\n')).toContain('DL3004');
  });
  it('PowerShell RUNs are not analysed as POSIX shell', () => {
    expect(codes('FROM mcr.microsoft.com/windows:1\nSHELL ["powershell", "-Command"]\nRUN cd C:\\ ; sudo x\n')).not.toContain('DL3004');
  });
  it('--target: stage-local rules see only what the target needs, UnusedStage names the rest', () => {
    const src = 'FROM alpine:3 AS a\nUSER root\nFROM alpine:3 AS b\nUSER app\n';
    expect(codes(src, { target: 'a' })).toContain('DL3002');
    expect(codes(src)).not.toContain('DL3002');
    expect(codes(src, { target: 'a' })).toContain('UnusedStage');
  });
  it('stage references across many stages: inherited SHELL, --from by name or index, earlier stages only', () => {
    // SHELL set in the first stage reaches a stage four FROMs down (and only those built on it)
    let chain = 'FROM debian:12 AS s0\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n';
    for (let i = 1; i < 5; i++) chain += `FROM s${i - 1} AS s${i}\n`;
    chain += 'RUN curl -s x | sh\n';
    expect(codes(chain)).not.toContain('DL4006');
    expect(codes(`${chain}FROM debian:12\nRUN curl -s x | sh\n`)).toContain('DL4006');
    // DL3022: a name defined only later is not a previous alias; an earlier one, or the stage's own, is
    expect(codes('FROM alpine:3 AS a\nCOPY --from=b /x /x\nFROM alpine:3 AS b\n')).toContain('DL3022');
    expect(codes('FROM alpine:3 AS b\nFROM alpine:3 AS a\nCOPY --from=b /x /x\n')).not.toContain('DL3022');
    // DL3006: an image that is an earlier stage's name is not an untagged image; a later stage's name is
    expect(codes('FROM alpine:3 AS base\nFROM base\n')).not.toContain('DL3006');
    expect(codes('FROM base\nFROM alpine:3 AS base\n')).toContain('DL3006');
    // CopyFromMissingPath: --from by index and by name, through a parent chain to a scratch base
    const scratch = 'FROM scratch AS out\nCOPY a /bin/a\nFROM out AS more\nCOPY b /lib/b\nFROM alpine:3\n';
    expect(codes(`${scratch}COPY --from=1 /lib/b /b\nCOPY --from=more /bin/a /a\n`)).not.toContain('CopyFromMissingPath');
    expect(lintText(`${scratch}COPY --from=1 /etc/x /x\nCOPY --from=more /usr/a /a\nCOPY --from=0 /lib/b /b\n`).filter((f) => f.code === 'CopyFromMissingPath').map((f) => f.range.start.line)).toEqual([6, 7, 8]);
  });
  it('constant global ARGs are substituted before image checks', () => {
    expect(codes('ARG IMG=alpine\nFROM ${IMG}\n')).toContain('DL3006');
    expect(codes('ARG IMG=alpine:3\nFROM ${IMG}\n')).not.toContain('DL3006');
    expect(codes('ARG TAG=latest\nFROM alpine:$TAG\n', { buildArgs: new Map([['TAG', '3']]) })).not.toContain('DL3007');
  });

  it('UnusedArg counts $A, ${A}, ${A:-x} and ${A%…} as uses of A, but not $AB, ${AB} or a literal A', () => {
    const unused = (use: string): boolean => codes(`FROM alpine:3\nARG A\nLABEL x="${use}"\n`).includes('UnusedArg');
    for (const use of ['$A', '$A/x', 'x-$A', '${A}', '${A:-x}', '${A-x}', '${A%.*}', '${A#v}', '${A/a/b}', '${A^^}', '${A,}', '${A@Q}', '$A$A', '$AB $A'])
      expect(unused(use), use).toBe(false);
    for (const use of ['$AB', '${AB}', '${A_B}', '$A9', 'A', '{A}', '$ A', '$(A)']) expect(unused(use), use).toBe(true);
    // ARG names are matched literally, whatever characters they hold
    expect(codes('FROM alpine:3\nARG A.B\nLABEL x="$AxB"\n')).toContain('UnusedArg');
  });
});
