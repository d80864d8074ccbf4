export const NX_VERSION = "0.1.0";
