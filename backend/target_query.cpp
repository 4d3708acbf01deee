// target_query.cpp: two questions about a target machine that LLVM's C API
// cannot answer, asked of its subtarget (MCSubtargetInfo): is a CPU name
// one LLVM knows for the target (else LLVM warns and compiles for a
// generic CPU), and which features does the machine enable (those a CPU
// name implies included: the C API only gives back the feature string it
// was handed). The only C++ of sparsec; C callers see backend.h.
#include <llvm-c/TargetMachine.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Target/TargetMachine.h>

namespace {
const llvm::MCSubtargetInfo *subtarget(LLVMTargetMachineRef tm) {
  return reinterpret_cast<llvm::TargetMachine *>(tm)->getMCSubtargetInfo();
}
} // namespace

extern "C" int target_knows_cpu(LLVMTargetMachineRef tm, const char *cpu) {
  return subtarget(tm)->isCPUStringValid(cpu) ? 1 : 0;
}

// `plus_features`: "+avx2,+fma", each a feature of the target's (LLVM
// warns about another on stderr and ignores it).
extern "C" int target_has_features(LLVMTargetMachineRef tm, const char *plus_features) {
  return subtarget(tm)->checkFeatures(plus_features) ? 1 : 0;
}
