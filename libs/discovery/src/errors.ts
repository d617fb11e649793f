// Typed failures of discovery, each with the underlying cause.

export class DiscoveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A node description that cannot be published (the field is named). */
export class InvalidNodeInfoError extends DiscoveryError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid node info: ${field}: ${message}`);
  }
}

/** The backend (etcd, Consul, the registry dir) could not be reached in time. */
export class DiscoveryUnavailableError extends DiscoveryError {}

/** Invalid provider options (the option is named). */
export class DiscoveryConfigError extends DiscoveryError {}

/** The discovery or registration was already closed. */
export class DiscoveryClosedError extends DiscoveryError {}
