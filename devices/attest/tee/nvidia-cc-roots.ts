/**
 * @module
 * NVIDIA's device identity root: every Hopper/Blackwell GPU attestation chain (GPU FMC leaf →
 * GSP BROM → provisioner ICA → GH100 identity → this) ends here. Pinned by the SHA-256 of its
 * DER. Source: NVIDIA/nvtrust, guest_tools/gpu_verifiers/local_gpu_verifier/src/verifier/
 * certs/verifier_device_root.pem (the root NVIDIA's own local verifier pins). The test suite
 * recomputes the fingerprint and verifies NVIDIA's published sample chain up to it.
 */

export const NVIDIA_DEVICE_ROOT_SHA256 = '102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48'

export const NVIDIA_DEVICE_ROOT_PEM = `-----BEGIN CERTIFICATE-----
MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw
IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE
SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM
GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG
ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX
gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB
2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B
Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY
MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3
TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+
EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=
-----END CERTIFICATE-----`

export const NVIDIA_ROOTS: readonly string[] = [NVIDIA_DEVICE_ROOT_PEM]
