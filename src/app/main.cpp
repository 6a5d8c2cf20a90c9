#include "app/app.hpp"

int main(int argc, char** argv) { return nexus::app::main(argc, argv); }
