/* driver: the `sparsec` command. One file per subcommand. */
#ifndef SPARSEC_DRIVER_H
#define SPARSEC_DRIVER_H

int cmd_run(int argc, char **argv);
int cmd_ir(int argc, char **argv);

#endif
