#include <stdio.h>
int main(void){puts("imgsecd: not built yet");return 1;}
