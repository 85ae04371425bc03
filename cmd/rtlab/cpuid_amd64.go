package main

// cpuid executes CPUID with eax and ecx (cpuid_amd64.s).
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// cpuBrand is the processor's brand string, "" if it has none.
func cpuBrand() string {
	if maxExt, _, _, _ := cpuid(0x80000000, 0); maxExt < 0x80000004 {
		return ""
	}
	var regs [12]uint32
	for i := range uint32(3) {
		a, b, c, d := cpuid(0x80000002+i, 0)
		regs[4*i], regs[4*i+1], regs[4*i+2], regs[4*i+3] = a, b, c, d
	}
	return brandString(regs)
}
