import { describe, expect, it } from 'vitest';
import type { ImageConfig } from '../../../compiler/graph.ts';
import { buildImageConfig, buildManifest, scratchConfig } from '../../../executor/image/image.ts';
import { asDigest, digestOf } from '../../../util/digest.ts';

const d1 = asDigest(`sha256:${'1'.repeat(64)}`);
const d2 = asDigest(`sha256:${'2'.repeat(64)}`);
const d3 = asDigest(`sha256:${'3'.repeat(64)}`);

const base: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  created: '2020-01-01T00:00:00Z',
  config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'] },
  rootfs: { type: 'layers', diff_ids: [d1] },
  history: [{ created: '2020-01-01T00:00:00Z', created_by: 'ADD rootfs.tar /' }],
};

describe('buildImageConfig', () => {
  it('appends layers and history (empty_layer for metadata steps), created from sourceDateEpoch', () => {
    const cfg = buildImageConfig(base, {
      config: { ...base.config, WorkingDir: '/app', Entrypoint: null },
      history: [
        { createdBy: 'WORKDIR /app', comment: 'buildkit.dockerfile.v0' },
        { createdBy: 'RUN /bin/sh -c make', diffId: d2 },
        { createdBy: 'COPY . /app', diffId: d3 },
      ],
      sourceDateEpoch: 1_700_000_000,
    });
    expect(cfg.value.rootfs.diff_ids).toEqual([d1, d2, d3]);
    expect(cfg.value.created).toBe('2023-11-14T22:13:20Z');
    expect(cfg.value.history).toEqual([
      { created: '2020-01-01T00:00:00Z', created_by: 'ADD rootfs.tar /' },
      { created: '2023-11-14T22:13:20Z', created_by: 'WORKDIR /app', comment: 'buildkit.dockerfile.v0', empty_layer: true },
      { created: '2023-11-14T22:13:20Z', created_by: 'RUN /bin/sh -c make' },
      { created: '2023-11-14T22:13:20Z', created_by: 'COPY . /app' },
    ]);
    // the image ID is the sha256 of exactly these bytes, which are canonical (sorted keys, no spaces)
    expect(cfg.digest).toBe(digestOf(cfg.bytes));
    expect(cfg.size).toBe(cfg.bytes.length);
    const text = cfg.bytes.toString('utf8');
    expect(text.startsWith('{"architecture":"amd64","config":{"Cmd":["sh"],"Entrypoint":null,"Env":')).toBe(true);
    expect(text).toBe(JSON.stringify(JSON.parse(text))); // no insignificant whitespace
    expect(JSON.parse(text)).toEqual(cfg.value);
  });

  it('is byte-identical for equal inputs and differs when anything changes', () => {
    const opts = { history: [{ createdBy: 'RUN x', diffId: d2 }], sourceDateEpoch: 0 };
    const a = buildImageConfig(base, opts);
    const b = buildImageConfig(structuredClone(base), structuredClone(opts));
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(buildImageConfig(base, { ...opts, sourceDateEpoch: 1 }).digest).not.toBe(a.digest);
    expect(buildImageConfig(base, { ...opts, history: [{ createdBy: 'RUN y', diffId: d2 }] }).digest).not.toBe(a.digest);
    expect(a.value.created).toBe('1970-01-01T00:00:00Z');
  });

  it('uses the given clock without sourceDateEpoch, and starts from scratch', () => {
    const cfg = buildImageConfig(scratchConfig('arm64', 'linux', 'v8'), {
      history: [{ createdBy: 'COPY a /', diffId: d1 }],
      now: new Date('2024-05-06T07:08:09.123Z'),
    });
    expect(cfg.value).toEqual({
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
      created: '2024-05-06T07:08:09.123Z',
      config: {},
      rootfs: { type: 'layers', diff_ids: [d1] },
      history: [{ created: '2024-05-06T07:08:09.123Z', created_by: 'COPY a /' }],
    });
  });
});

describe('buildManifest', () => {
  it('builds a canonical OCI manifest', () => {
    const m = buildManifest(d1, 123, [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d2, size: 10 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: d3, size: 20 },
    ]);
    expect(m.value).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d1, size: 123 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d2, size: 10 },
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: d3, size: 20 },
      ],
    });
    expect(m.digest).toBe(digestOf(m.bytes));
    expect(m.bytes.toString()).toBe(
      `{"config":{"digest":"${d1}","mediaType":"application/vnd.oci.image.config.v1+json","size":123},"layers":[` +
        `{"digest":"${d2}","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":10},` +
        `{"digest":"${d3}","mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","size":20}],` +
        `"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}`,
    );
  });
});
