# `cmake --install build --prefix P` (or `make install PREFIX=P`); README.md
# ("Install") says what goes where. The installed sparsec finds its runtime
# in P/lib from its own path (backend/link.c) and the .pc files name their
# folder relative to themselves, so P may be moved as a whole.

install(TARGETS sparsec RUNTIME DESTINATION bin)

# The runtime: one process (what `sparsec build` links by default), with
# MPI (--mpi), and main() of built programs.
install(FILES $<TARGET_FILE:sparsert_serial> $<TARGET_FILE:sparsert> $<TARGET_FILE:sparsert_main>
        DESTINATION lib)
# program.h: the runtime's side of a bundle (SR_BUNDLE_* codes); a
# bundle's own NAME.h needs nothing else.
install(FILES runtime/program.h runtime/sparsert.h DESTINATION include/sparsec)

# pkg-config: sparsec is libsparsert.a, with MPI when this build has it;
# sparsec-serial the same without MPI, when the two differ.
function(sparsec_pc file archive libs description)
  set(PC_NAME ${file})
  set(PC_ARCHIVE ${archive})
  set(PC_LIBS ${libs})
  set(PC_DESCRIPTION ${description})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/sparsec.pc.in
                 ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc DESTINATION lib/pkgconfig)
endfunction()
if(MPI_C_FOUND) # MPI recorded only if the program calls it (a bundle does not)
  sparsec_pc(sparsec sparsert
             "${SPARSEC_LINK_FLAGS} -Wl,--as-needed${SPARSEC_MPI_LINK_FLAGS} -Wl,--no-as-needed"
             "the runtime of models compiled by sparsec build, with MPI")
  sparsec_pc(sparsec-serial sparsert_serial "${SPARSEC_LINK_FLAGS}"
             "the runtime of models compiled by sparsec build, one process")
else()
  sparsec_pc(sparsec sparsert_serial "${SPARSEC_LINK_FLAGS}"
             "the runtime of models compiled by sparsec build")
endif()

# sparsec-bundle: what a BLAS-free bundle (`--blas none`, docs/aot.md) links:
# the runtime without MPI and libm, no OpenBLAS, no zlib.
sparsec_pc(sparsec-bundle sparsert_serial "${SPARSEC_BUNDLE_LINK_FLAGS}"
           "the runtime of BLAS-free bundles compiled by sparsec build --bundle")

# Manual pages: sparsec(1) is written (tests/test_install.c checks it
# against every option table); sparsec-spec(5) is docs/language.md.
set(spec_man ${PROJECT_BINARY_DIR}/man/sparsec-spec.5)
add_custom_command(
  OUTPUT ${spec_man}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
  COMMAND awk -v name=SPARSEC-SPEC -v section=5 -v "title=the spec language of sparsec"
          -f ${PROJECT_SOURCE_DIR}/scripts/md2man.awk ${PROJECT_SOURCE_DIR}/docs/language.md
          > ${spec_man}
  DEPENDS ${PROJECT_SOURCE_DIR}/scripts/md2man.awk ${PROJECT_SOURCE_DIR}/docs/language.md
  VERBATIM)
add_custom_target(man ALL DEPENDS ${spec_man})
install(FILES docs/man/sparsec.1 DESTINATION share/man/man1)
install(FILES ${spec_man} DESTINATION share/man/man5)

# Examples (specs, data, the embedding program) and the documentation,
# README.md beside docs/ so that its links hold.
install(DIRECTORY examples/ DESTINATION share/sparsec/examples)
install(FILES README.md DESTINATION share/doc/sparsec)
install(DIRECTORY docs/ DESTINATION share/doc/sparsec/docs PATTERN man EXCLUDE)
