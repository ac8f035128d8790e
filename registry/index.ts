/**
 * registry/: the OCI distribution client (pull, push), authentication (Basic, Bearer tokens), docker's credential
 * file and helpers, and registry settings (mirrors, insecure hosts, CAs). See registry/README.md.
 */
export { RegistryClient, type RegistryClientOptions, type Endpoint, type RegistryResponse, type SendOptions } from './client.ts';
export { pullImage, ensureImage, pickPlatform, pullAccessDenied, partialPath, ManifestMediaType, type PullOptions, type PullResult, type PullEvent, type Platform } from './pull.ts';
export { pushImage, type PushOptions, type PushResult, type PushEvent, type BlobOutcome } from './push.ts';
export { CredentialStore, dockerConfigPath, serverKey, DOCKER_HUB_KEY, type Credentials } from './credentials.ts';
export { loadRegistryConfig, registryConfigPath, normalizeMirror, isLoopbackHost, isInsecureHost, allowsPlainHttp, type RegistryConfig } from './config.ts';
export { parseChallenges, repositoryScope, TokenCache, type Challenge } from './auth.ts';
export { blobSources, addBlobSources, type BlobSource } from './sources.ts';
